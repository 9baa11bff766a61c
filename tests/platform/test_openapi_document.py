"""What each service's OpenAPI document tells a client generator, read from the app without serving it."""

import csv
import io
import json
import re
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from casework.app import create_app
from casework.file_types import DOCX, PDF, content_type_of
from casework.platform_routes import admin, router
from casework.services import SERVICE_NAMES, load_definition
from cdf_service.api.sact import SactBatch
from cdf_service.domain.list_csv import parse_list_csv
from cdf_service.domain.sact_rows import Administration, DrugDictionary
from cdf_service.domain.sact_validator import RowValidator
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import detect, detect_keys, read_header
from cdf_service.synthetic.national import seed_entries
from contract_service.api.drug_returns import DrugReturnIn
from contract_service.domain.drug_returns import read_csv, validate_return
from ifr_service.api.examples import APPLICATION_EXAMPLE
from ifr_service.domain.application import Application, merge
from notification_service.domain.templates import TemplateSource, check_source, packaged_samples


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_operation_ids_are_the_route_names_and_unique(name: str) -> None:
    document = create_app(load_definition(name)).openapi()
    operations = [(path, op) for path, item in document["paths"].items() for op in item.values()]
    ids = [op["operationId"] for _, op in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # readable method names, not FastAPI's path-derived ones (`apply_api_v1_cdf_applications_post`)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) and "_api_v1_" not in i for i in ids), ids
    assert {"live", "ready", "dead_letters", "replay"} <= set(ids)


def test_the_ifr_reports_offer_csv_at_their_own_path_and_mark_the_old_parameter_deprecated() -> None:
    paths = create_app(load_definition("ifr")).openapi()["paths"]
    for report in ("quarterly", "consistency"):
        assert f"/api/v1/ifr/reports/{report}.csv" in paths
        parameters = {p["name"]: p for p in paths[f"/api/v1/ifr/reports/{report}"]["get"]["parameters"]}
        assert parameters["format"].get("deprecated") is True


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_error_is_documented_as_a_problem_with_the_headers_that_cause_it(name: str) -> None:
    document = create_app(load_definition(name)).openapi()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and {"Problem", "FieldProblem"} <= set(schemas)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            label = f"{method.upper()} {path}"
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], label
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), label
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), label
            if "If-Match" in headers:
                assert {"412", "428"} <= set(responses), label
            if path.startswith("/api/"):
                assert "503" in responses, label
    idempotent = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    # the services whose POSTs create records honour Idempotency-Key, and say so
    assert bool(idempotent) == (name != "notification"), idempotent


# -- request body examples --------------------------------------------------------------------------
# Every request body the documents describe carries an example a client can send as it is: each JSON
# example goes through the route's own body model (as FastAPI would validate it), and each CSV, multipart
# example through the reader the service uses for that body. An example the service would refuse is
# worse than none.

JSON = "application/json"
# Routes that read their body themselves (CSV or JSON on one path): the model the JSON branch validates with.
RAW_JSON_BODIES: dict[tuple[str, str], Any] = {
    ("cdf", "submit"): SactBatch,
    ("contract", "submit_return"): DrugReturnIn,
}


def _document(name: str) -> dict[str, Any]:
    return create_app(load_definition(name)).openapi()


def _bodies(name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(operation id, media type, media type object) of every request body in the service's document."""
    return [
        (operation["operationId"], media_type, media)
        for item in _document(name)["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
        for media_type, media in operation["requestBody"]["content"].items()
    ]


def _schemas(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and, through $ref and anyOf/oneOf (an optional body), the schemas it stands for."""
    if "$ref" in schema:
        return _schemas(document, document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    branches = [b for key in ("anyOf", "oneOf") for b in schema.get(key, []) if b.get("type") != "null"]
    return [schema, *(s for b in branches for s in _schemas(document, b))]


def _examples(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """Every example of a media type: its own `example`/`examples`, and those of its schema."""
    found = [media["example"]] if "example" in media else []
    found += [e["value"] for e in media.get("examples", {}).values() if "value" in e]
    for schema in _schemas(document, media.get("schema", {})):
        found += ([schema["example"]] if "example" in schema else []) + schema.get("examples", [])
    return found


def _body_types(name: str) -> dict[str, Any]:
    """Operation id -> the type FastAPI validates the route's body with (the routers the app serves)."""
    routes = (r for each in (router, admin, *load_definition(name).routers) for r in each.routes)
    return {
        r.name: r.body_field.field_info.annotation
        for r in routes
        if isinstance(r, APIRoute) and r.body_field is not None
    }


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_request_body_carries_an_example(name: str) -> None:
    document = _document(name)
    bodies = _bodies(name)
    assert bodies, "the service takes request bodies"
    missing = [f"{op} ({media_type})" for op, media_type, media in bodies if not _examples(document, media)]
    assert not missing, f"{name}: {len(missing)} of {len(bodies)} request bodies have no example: {missing}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_json_example_is_one_the_route_accepts(name: str) -> None:
    document, types = _document(name), _body_types(name)
    refused: list[str] = []
    for op, media_type, media in _bodies(name):
        if media_type != JSON:
            continue
        body_type = RAW_JSON_BODIES.get((name, op), types.get(op))
        assert body_type is not None, f"{name}.{op}: no body model to check its JSON example against"
        for example in _examples(document, media):
            try:  # as FastAPI does: the JSON decoded, then validated in Python mode
                TypeAdapter(body_type).validate_python(json.loads(json.dumps(example)))
            except ValidationError as exc:
                refused.append(f"{op}: {exc}")
    assert not refused, f"{name}: examples the route would answer 422:\n" + "\n".join(refused)


def _sact_rows(schema: Any, columns: list[str], rows: list[list[str]]) -> list[Any]:
    """The problems the SACT row validator finds in each row (the provider is the example's trust, RRV)."""
    drugs = DrugDictionary.build(reference_drugs(), {e.drug_name: e.dmd_ids for e in seed_entries().values()})
    validator = RowValidator(schema, columns, "RRV", drugs, "key", date(2026, 12, 3))
    return [p for p in map(validator.problems, rows) if not isinstance(p, Administration)]


def _sact_csv(text: str) -> list[Any]:
    header, *rows = list(csv.reader(io.StringIO(text)))
    columns = read_header(header)
    return _sact_rows(detect(columns), columns, rows)


def _sact_json(batch: dict[str, Any]) -> list[Any]:
    records = SactBatch.model_validate(batch).records
    columns = sorted({key for record in records for key in record})
    schema = detect_keys(columns, int(batch["sact_version"]) if batch.get("sact_version") else None)
    return _sact_rows(schema, columns, [["" if r.get(c) is None else str(r[c]) for c in columns] for r in records])


def _list_csv(text: str) -> list[Any]:
    rows, problems = parse_list_csv(text)
    return problems or ([] if rows else ["no rows"])


def _drug_return(lines: list[dict[str, Any]], period: str = "2026-05") -> list[Any]:
    checked = validate_return(period, lines)
    return checked.errors or ([] if checked.lines else ["no lines"])


def _document_upload(form: dict[str, Any]) -> list[Any]:
    return [] if content_type_of(str(form["file"]).encode()) in (PDF, DOCX) else ["not a PDF or DOCX"]


# (service, operation, media type) -> the problems the service's own reader finds in the example
READERS: dict[tuple[str, str, str], Any] = {
    ("cdf", "import_list", "text/csv"): _list_csv,
    ("cdf", "submit", "text/csv"): _sact_csv,
    ("cdf", "submit", JSON): _sact_json,
    ("contract", "submit_return", "text/csv"): lambda text: _drug_return(read_csv(text)),
    ("contract", "submit_return", JSON): lambda body: _drug_return(body["lines"], body["period"]),
    ("ifr", "upload_document", "multipart/form-data"): _document_upload,
    ("contract", "attach_evidence", "multipart/form-data"): _document_upload,
}


def test_csv_upload_and_raw_json_examples_pass_the_services_own_readers() -> None:
    read: dict[tuple[str, str, str], list[Any]] = {}
    for name in SERVICE_NAMES:
        document = _document(name)
        for op, media_type, media in _bodies(name):
            if media_type != JSON or (name, op) in RAW_JSON_BODIES:
                read[(name, op, media_type)] = _examples(document, media)
    # a new CSV or upload body needs its reader here, so that its example is checked too
    assert set(read) == set(READERS), set(read) ^ set(READERS)
    assert all(read.values()), [key for key, examples in read.items() if not examples]
    problems = {key: [p for e in examples for p in READERS[key](e)] for key, examples in read.items()}
    assert not any(problems.values()), {key: found for key, found in problems.items() if found}


def _json_examples(name: str, operation_id: str) -> list[Any]:
    document = _document(name)
    found = [_examples(document, m) for op, t, m in _bodies(name) if op == operation_id and t == JSON]
    assert found and found[0], f"{name}.{operation_id}: no JSON example"
    return found[0]


def test_the_draft_change_and_template_examples_pass_the_rules_behind_their_models() -> None:
    # a draft's changes are a plain object: the route merges them into the draft and validates the result
    draft = Application.model_validate(APPLICATION_EXAMPLE)
    for changes in _json_examples("ifr", "update_draft"):
        assert merge(draft, changes) != draft
    # a template version is checked by rendering it with the packaged template's sample data
    samples = packaged_samples()
    for edit in _json_examples("notification", "put_template"):
        source = TemplateSource("cdf_application_approved", 2, edit["subject"], edit["text"], edit["html"])
        assert check_source(source, edit.get("sample") or samples["cdf_application_approved"]) == []
