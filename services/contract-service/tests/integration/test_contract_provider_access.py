"""Provider users see only their own contract, returns and queries (another organisation's: 404);
commissioners (X24) see all."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from contract_fixtures import DRUG_A, commissioner, create_contract, new_nhs_number, new_provider

from embedded_stack.testing import RunningService, TestStack


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


async def _provider_with_everything(stack: TestStack, contract: RunningService) -> dict[str, str]:
    provider = new_provider()
    contract_id = (await create_contract(contract.client, stack, provider))["id"]
    body = {
        "provider_ods": provider,
        "period": "2026-05",
        "submission_id": "S1",
        "lines": [
            {
                "nhs_number": new_nhs_number(),
                "dmd_id": DRUG_A,
                "indication": "x",
                "administered_on": "2026-05-02",
                "quantity": "1",
                "cost": "10.00",
            }
        ],
    }
    sent = await contract.client.post(
        "/api/v1/drug-returns", json=body, headers=stack.auth(provider, "provider_system")
    )
    assert sent.status_code == 201, sent.text
    return {
        "provider": provider,
        "contract": contract_id,
        "return": sent.json()["id"],
        "query": sent.json()["query_id"],
    }


@pytest.mark.parametrize("role", ["trust_finance", "trust_pharmacist", "provider_system"])
async def test_provider_users_see_only_their_own(stack: TestStack, contract: RunningService, role: str) -> None:
    mine, theirs = await _provider_with_everything(stack, contract), await _provider_with_everything(stack, contract)
    me = stack.auth(mine["provider"], role)

    async def get(path: str, **params: str) -> tuple[int, object]:
        response = await contract.client.get(path, params=params, headers=me)
        body = response.json() if "json" in response.headers.get("content-type", "") else response.text
        return response.status_code, body

    for path in (
        f"/api/v1/contracts/{theirs['contract']}",
        f"/api/v1/contracts/{theirs['contract']}/budget-lines",
        f"/api/v1/contracts/{theirs['contract']}/variations",
        f"/api/v1/drug-returns/{theirs['return']}",
        f"/api/v1/drug-returns/{theirs['return']}/lines",
        f"/api/v1/validation-queries/{theirs['query']}",
    ):
        assert (await get(path))[0] == 404, path
    for path in (f"/api/v1/contracts/{mine['contract']}", f"/api/v1/validation-queries/{mine['query']}"):
        assert (await get(path))[0] == 200, path
    assert (await get("/api/v1/forecast-outturn", provider=theirs["provider"], fy="2026/27"))[0] == 404
    status, own = await get("/api/v1/forecast-outturn", fy="2026/27")
    assert status == 200 and own["provider_ods"] == mine["provider"]  # type: ignore[index]

    lists = {
        "/api/v1/contracts": "provider_ods",
        "/api/v1/drug-returns": "provider_ods",
        "/api/v1/validation-queries": "provider_ods",
    }
    for path, field in lists.items():
        status, page = await get(path)
        assert status == 200 and {x[field] for x in page["items"]} == {mine["provider"]}, path  # type: ignore[index]
    status, report = await get("/api/v1/reports/challenged-value", fy="2026/27")
    assert {r["provider_ods"] for r in report} == {mine["provider"]}  # type: ignore[union-attr]
    for path in ("/api/v1/contracts.csv", "/api/v1/validation-queries.csv"):
        status, text = await get(path)
        assert {r["provider_ods"] for r in csv.DictReader(io.StringIO(text))} == {mine["provider"]}, path  # type: ignore[arg-type]

    # writing for another organisation is refused the same way, and nothing changes
    foreign = await contract.client.post(
        "/api/v1/drug-returns",
        json={"provider_ods": theirs["provider"], "period": "2026-05", "submission_id": "X", "lines": [{}]},
        headers=me,
    )
    assert foreign.status_code == 404
    respond = await contract.client.post(
        f"/api/v1/validation-queries/{theirs['query']}/response",
        json={"action": "accept"},
        headers={**me, "If-Match": 'W/"1"'},
    )
    assert respond.status_code == 404

    everyone = await contract.client.get(
        "/api/v1/validation-queries", params={"limit": 500}, headers=commissioner(stack)
    )
    assert {mine["query"], theirs["query"]} <= {q["id"] for q in everyone.json()["items"]}


async def test_roles_outside_contracts_are_refused(stack: TestStack, contract: RunningService) -> None:
    clinician = stack.auth("RRV", "clinician")
    assert (await contract.client.get("/api/v1/contracts", headers=clinician)).status_code == 403
    assert (await contract.client.get("/api/v1/contracts")).status_code == 401
