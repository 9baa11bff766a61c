"""An ODS code filter (`provider`, `trust`) that is not an ODS code is a 422 naming it, on every list
of every service: `provider=RRVX` was cut to `RRV` and answered as if it were."""

from __future__ import annotations

import pytest

from casework.services import SERVICE_NAMES
from embedded_stack.testing import TestStack

FILTERS = ("provider", "trust")


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_a_filter_that_is_not_an_ods_code_is_422_naming_it(stack: TestStack, name: str) -> None:
    async with stack.service(name, run_workers=False) as svc:
        openapi = (await svc.client.get("/openapi.json")).json()
        filtered = [
            (path, param["name"])
            for path, operations in openapi["paths"].items()
            if "get" in operations and "{" not in path
            for param in operations["get"].get("parameters", [])
            if param["in"] == "query" and param["name"] in FILTERS
        ]
        if name != "notification":
            assert filtered, f"{name}: no list with an ODS filter"
        caller = stack.auth("X24", "admin")
        for path, param in filtered:
            for bad in ("RRVX", "RRV0123", "R"):
                answer = await svc.client.get(path, params={param: bad}, headers=caller)
                assert answer.status_code == 422, (path, bad, answer.status_code)
                assert param in [e["field"] for e in answer.json()["errors"]], (path, answer.text)
            for good in ("RRV", "rrv03"):
                answer = await svc.client.get(path, params={param: good}, headers=caller)
                fields = [e["field"] for e in answer.json().get("errors", [])] if answer.status_code == 422 else []
                assert param not in fields, (path, good, answer.text)
