"""What each service's OpenAPI document tells a client generator, read from the app without serving it."""

import re

import pytest

from casework.app import create_app
from casework.services import SERVICE_NAMES, load_definition


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
