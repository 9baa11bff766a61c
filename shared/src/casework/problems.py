"""RFC 9457 problem+json for every error, with a field-level list for validation failures.

Routes raise `Problem` (or its subclasses); validation errors from FastAPI/pydantic and unexpected
exceptions are converted here, so no response ever carries a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.correlation import correlation_id
from casework.db import database_unreachable
from casework.logs import get_logger
from casework.state_machine import IllegalTransition

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_AFTER_S = 5  # Retry-After of a 503 while the database cannot be reached


class Problem(Exception):
    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.headers = headers
        self.extra = extra


class NotFound(Problem):
    status, title = 404, "Not found"


class Conflict(Problem):
    status, title = 409, "Conflict"


class PreconditionFailed(Problem):
    status, title = 412, "Precondition failed"


class PreconditionRequired(Problem):
    status, title = 428, "Precondition required"


class Unprocessable(Problem):
    status, title = 422, "Unprocessable content"


class HTTPProblem(StarletteHTTPException):
    """A problem raised where only an HTTPException passes: from a request's `receive` (FastAPI's body
    parsing answers any other exception there with a 400) or from a middleware."""

    def __init__(
        self, status: int, detail: str, *, title: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.title = title
        self.extra = extra


def field_problem(field: str, message: str, detail: str | None = None) -> Unprocessable:
    """A 422 naming one field, for rules checked after schema validation."""
    return Unprocessable(detail or f"{field}: {message}", errors=[{"field": field, "message": message}])


def problem_response(
    status: int,
    title: str,
    detail: str,
    request: Request,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"https://casework.nhs.uk/problems/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        # outside the correlation middleware (an unexpected error), the id it kept on the request
        "correlation_id": correlation_id.get() or request.scope.get("state", {}).get("correlation_id"),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, request, exc.headers, **exc.extra)

    @app.exception_handler(IllegalTransition)
    async def _illegal(request: Request, exc: IllegalTransition) -> JSONResponse:
        return problem_response(
            409,
            "Action not allowed in this state",
            str(exc),
            request,
            current_state=exc.state,
            action=exc.action,
            allowed_actions=exc.allowed,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_path(tuple(e.get("loc", ()))),
                "message": e.get("msg", "invalid"),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(422, "Validation failed", detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, HTTPProblem):
            return problem_response(exc.status_code, exc.title, str(exc.detail), request, exc.headers, **exc.extra)
        title = {
            400: "Bad request",
            401: "Unauthorised",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
        }.get(exc.status_code, "Error")
        return problem_response(exc.status_code, title, str(exc.detail), request, getattr(exc, "headers", None))

    # Database errors are answered here, inside the correlation middleware (a handler for Exception
    # itself runs outside every middleware, and the server logs the error again as an ASGI failure).
    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(asyncpg.InterfaceError)
    @app.exception_handler(ConnectionError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            return await _unexpected(request, exc)
        log.warning("database unavailable", path=request.url.path, error=repr(exc))
        return problem_response(
            503,
            "Service unavailable",
            "The database cannot be reached just now; retry shortly.",
            request,
            {"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(500, "Internal error", "An unexpected error occurred.", request)
