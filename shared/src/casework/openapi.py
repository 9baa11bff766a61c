"""The OpenAPI document as the services answer: every error as problem+json, on every operation that
can return it.

FastAPI documents a 422 of its own shape (`HTTPValidationError`) and nothing else; the services answer
every error as RFC 9457 `application/problem+json` (`casework.problems`), and most statuses come from
the platform rather than from a route: the bearer check (401, 403), a path naming a resource (404), the
request body guard (413), the validation handler (422), `If-Match` (412, 428), `Idempotency-Key` (409
while the first request with the key runs), the database being away (503). `document_problems`
derives those from what each operation declares; a route adds what only it knows with
`responses=problems(409, 415)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI

from casework.problems import PROBLEM_JSON

PROBLEM = "Problem"
IDEMPOTENCY_KEY = "Idempotency-Key"
_WHY = {
    400: "The request body cannot be read (bytes that are not UTF-8 text)",
    401: "No bearer token, or one that does not verify",
    403: "The caller's roles or organisation do not allow this",
    404: "No such resource, or not one the caller may see",
    409: "The resource's state does not allow this (the problem names the state and the allowed actions)",
    412: "If-Match names a version that is not the current one",
    413: "The request body is larger than this operation accepts",
    415: "The request body's media type is not one this operation reads",
    422: "A field is invalid: `errors` names each field and what is wrong with it",
    428: "This change needs If-Match with the resource's ETag",
    503: "The service's database cannot be reached; retry later",
}
_SCHEMAS: dict[str, Any] = {
    PROBLEM: {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "correlation_id": {"type": ["string", "null"]},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
            "current_state": {"type": "string", "description": "On a 409 from a state machine"},
            "allowed_actions": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": True,
    },
    "FieldProblem": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}
_METHODS = ("get", "put", "post", "delete", "patch")
_FASTAPI_422 = "Validation Error"  # FastAPI's own description of the 422 it documents


def problem_documented(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of a problem status (casework.problems.problem_response is the answer itself)."""
    return {
        "description": description or _WHY.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: the statuses only the route knows it returns (a 409, a 415)."""
    return {status: problem_documented(status) for status in statuses}


# For a route's `openapi_extra=`: it honours `Idempotency-Key` (casework.idempotency reads the header).
IDEMPOTENT: dict[str, Any] = {
    "parameters": [
        {
            "name": IDEMPOTENCY_KEY,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "Send it again with the same request and you get the first answer, never a second record",
        }
    ]
}

# The `file` of an upload's example: a one-page PDF (what the services accept is read from the bytes).
PDF_EXAMPLE = (
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def upload_example(description: str) -> dict[str, Any]:
    """For a route's `openapi_extra=`: the example of a multipart upload of one document (`file`, `description`)."""
    example = {"file": PDF_EXAMPLE, "description": description}
    return {"requestBody": {"content": {"multipart/form-data": {"example": example}}}}


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` document the problems each operation can return (once, then cached)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(_SCHEMAS)
            document["components"]["schemas"].pop("HTTPValidationError", None)
            document["components"]["schemas"].pop("ValidationError", None)
            for path, item in document.get("paths", {}).items():
                for method in _METHODS:
                    if method in item:
                        _document_operation(path, item[method])
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def _document_operation(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if path.endswith(".csv") and "200" in responses:  # the convention: a list or report as CSV is path.csv
        responses["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    for status in _statuses(path, operation):
        said = responses.get(str(status), {}).get("description")
        responses[str(status)] = problem_documented(status, None if said in (None, _FASTAPI_422) else said)


def _statuses(path: str, operation: dict[str, Any]) -> Iterable[int]:
    headers = {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "header"}
    if operation.get("parameters") or "requestBody" in operation:
        yield 422
    if operation.get("security"):
        yield from (401, 403)
    if "{" in path:
        yield 404
    if "requestBody" in operation:
        yield from (400, 413)
    if "if-match" in headers:
        yield from (412, 428)
    if IDEMPOTENCY_KEY.lower() in headers:
        yield 409
    if path.startswith("/api/"):
        yield 503
    yield from (int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400)
