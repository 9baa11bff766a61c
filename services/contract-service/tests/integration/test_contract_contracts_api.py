"""Contracts over HTTP: one per provider per year, variations rebuilt as of a date, budget lines,
derogations and the contract summary export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from contract_fixtures import add_line, commissioner, contract_events, create_contract, new_provider

from embedded_stack.testing import RunningService, TestStack, eventually


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


async def test_one_contract_per_provider_per_year(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    created = await create_contract(contract.client, stack, provider)
    assert created["value"]["total"] == "126000.00"
    assert created["value"]["cquin_base"] == "120000.00"  # the excluded drugs line is not in the base
    assert created["value"]["cquin_value"] == "1500.00"  # 1.25% by default
    again = await contract.client.post(
        "/api/v1/contracts",
        json={"provider_ods": provider, "financial_year": "2026/27", "title": "again", "terms": created["terms"]},
        headers=commissioner(stack),
    )
    assert again.status_code == 409, again.text
    other_year = await create_contract(contract.client, stack, provider, fy="2027/28")
    assert other_year["id"] != created["id"]
    site = await contract.client.post(
        "/api/v1/contracts",
        json={"provider_ods": f"{provider}01", "financial_year": "2028/29", "title": "t", "terms": created["terms"]},
        headers=commissioner(stack),
    )
    assert site.status_code == 422 and site.json()["errors"][0]["field"] == "provider_ods"
    provider_user = await contract.client.post(
        "/api/v1/contracts",
        json={"provider_ods": provider, "financial_year": "2029/30", "title": "t", "terms": created["terms"]},
        headers=stack.auth(provider, "contract_manager"),
    )
    assert provider_user.status_code == 403  # the role alone is not enough: commissioner staff only


async def _vary(
    contract: RunningService, stack: TestStack, contract_id: str, etag: str, body: dict
) -> tuple[int, dict, str]:
    response = await contract.client.post(
        f"/api/v1/contracts/{contract_id}/variations", json=body, headers={**commissioner(stack), "If-Match": etag}
    )
    return response.status_code, response.json(), response.headers.get("ETag", "")


async def test_three_variations_rebuild_as_of_before_between_and_after(
    stack: TestStack, contract: RunningService
) -> None:
    provider = new_provider()
    created = await create_contract(contract.client, stack, provider)
    cid = created["id"]
    etag = 'W/"1"'
    bodies = [
        {
            "effective_date": "2026-07-01",
            "summary": "price change",
            "changes": [{"op": "set_price", "code": "CARD01", "price": "1100.00"}],
        },
        {
            "effective_date": "2026-10-01",
            "summary": "new London schedule and service",
            "changes": [
                {"op": "add_schedule", "schedule": {"hub": "LDN", "hub_name": "London"}},
                {
                    "op": "add_service_line",
                    "line": {
                        "code": "NEURO",
                        "hub": "LDN",
                        "description": "Neurosurgery",
                        "price": "500.00",
                        "activity_plan": ["0"] * 6 + ["20"] * 6,
                    },
                },
            ],
        },
        {
            "effective_date": "2027-01-01",
            "summary": "drugs line ends; CQUIN 1.5%",
            "changes": [
                {"op": "remove_service_line", "code": "DRUGS"},
                {"op": "set_cquin_rate", "cquin_rate_pct": "1.5"},
            ],
        },
    ]
    for sequence, body in enumerate(bodies, start=1):
        status, out, etag = await _vary(contract, stack, cid, etag, body)
        assert status == 201, out
        assert out["sequence"] == sequence
    assert etag == 'W/"4"'

    stale, problem, _ = await _vary(contract, stack, cid, 'W/"1"', bodies[0])
    assert stale == 412 and problem["current_version"] == 4
    missing = await contract.client.post(
        f"/api/v1/contracts/{cid}/variations", json=bodies[0], headers=commissioner(stack)
    )
    assert missing.status_code == 428

    async def as_of(day: str) -> dict:
        response = await contract.client.get(
            f"/api/v1/contracts/{cid}", params={"as_of": day}, headers=commissioner(stack)
        )
        assert response.status_code == 200, response.text
        return response.json()

    before, between, after = await as_of("2026-06-30"), await as_of("2026-11-15"), await as_of("2027-02-01")
    assert before["variations_applied"] == [] and before["value"]["total"] == "126000.00"
    assert between["variations_applied"] == [1, 2]
    assert [x["code"] for x in between["terms"]["service_lines"]] == ["CARD01", "DRUGS", "NEURO"]
    assert between["value"]["total"] == "198000.00"  # 120 x 1100 + 120 x 50 + 120 x 500
    assert between["value"]["by_hub"] == {"NW": "138000.00", "LDN": "60000.00"}
    assert after["variations_applied"] == [1, 2, 3]
    assert [x["code"] for x in after["terms"]["service_lines"]] == ["CARD01", "NEURO"]
    assert after["value"]["cquin_value"] == "2880.00"  # 1.5% of 192,000

    events = await eventually(lambda: _variation_events(stack, cid, 3))
    assert [(e["data"]["sequence"], e["data"]["effective_date"]) for e in events] == [
        (1, "2026-07-01"),
        (2, "2026-10-01"),
        (3, "2027-01-01"),
    ]

    # a back-dated change that would break an agreed variation is refused, naming what breaks
    status, problem, _ = await _vary(
        contract,
        stack,
        cid,
        etag,
        {"effective_date": "2026-09-01", "summary": "x", "changes": [{"op": "remove_service_line", "code": "DRUGS"}]},
    )  # variation 3 removes DRUGS in January: it would no longer apply
    assert status == 422 and problem["errors"][0]["field"] == "effective_date"
    assert "variation 3" in problem["detail"] and "DRUGS" in problem["detail"]
    status, problem, _ = await _vary(
        contract,
        stack,
        cid,
        etag,
        {
            "effective_date": "2026-09-01",
            "summary": "x",
            "changes": [{"op": "set_price", "code": "NOPE", "price": "1"}],
        },
    )
    assert status == 422 and problem["errors"][0]["field"] == "changes[0]"
    status, problem, _ = await _vary(
        contract,
        stack,
        cid,
        etag,
        {
            "effective_date": "2027-04-01",
            "summary": "x",
            "changes": [{"op": "set_price", "code": "CARD01", "price": "1"}],
        },
    )
    assert status == 422 and problem["errors"][0]["field"] == "effective_date"


async def _variation_events(stack: TestStack, contract_id: str, count: int) -> list[dict] | None:
    events = await contract_events(stack, "contract.variation.agreed", contract_id=contract_id)
    return sorted(events, key=lambda e: e["data"]["sequence"]) if len(events) >= count else None


async def test_budget_lines_derogations_and_summary_export(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    created = await create_contract(contract.client, stack, provider)
    cid = created["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "240000.00", category="cdf", line_name="CDF drugs")
    assert (line["provider_ods"], line["financial_year"], line["at_risk"]) == (provider, "2026/27", False)
    duplicate = await contract.client.post(
        f"/api/v1/contracts/{cid}/budget-lines",
        json={"kind": "cdf", "category": "cdf", "line_name": "again", "budget": "1"},
        headers=commissioner(stack),
    )
    assert duplicate.status_code == 409
    neither = await contract.client.post(
        f"/api/v1/contracts/{cid}/budget-lines",
        json={"kind": "device", "line_name": "x", "budget": "1"},
        headers=commissioner(stack),
    )
    assert neither.status_code == 422
    bad_drug = await contract.client.post(
        f"/api/v1/contracts/{cid}/budget-lines",
        json={"kind": "high_cost_drug", "dmd_id": "123456", "line_name": "x", "budget": "1"},
        headers=commissioner(stack),
    )
    assert bad_drug.status_code == 422 and bad_drug.json()["errors"][0]["field"] == "dmd_id"
    await add_line(contract.client, stack, cid, "device", "50000.00", category="devices", line_name="Devices")
    listed = await contract.client.get(f"/api/v1/contracts/{cid}/budget-lines", headers=commissioner(stack))
    assert [x["line_name"] for x in listed.json()["items"]] == ["CDF drugs", "Devices"]

    derogation = await contract.client.post(
        f"/api/v1/contracts/{cid}/derogations",
        json={
            "service_specification": "170004/S",
            "description": "Consultant cover below the specification",
            "action_plan": [
                {"action": "Recruit a second consultant", "owner": "Medical director", "due_date": "2026-12-31"}
            ],
            "due_date": "2027-01-31",
        },
        headers=commissioner(stack),
    )
    assert derogation.status_code == 201, derogation.text
    did = derogation.json()["id"]
    assert derogation.json()["allowed_actions"] == ["agree", "reject", "withdraw"]
    agreed = await contract.client.post(
        f"/api/v1/derogations/{did}/agree",
        json={},
        headers={**commissioner(stack), "If-Match": derogation.headers["ETag"]},
    )
    assert agreed.status_code == 200 and agreed.json()["status"] == "agreed"
    no_date = await contract.client.post(
        f"/api/v1/derogations/{did}/extend",
        json={},
        headers={**commissioner(stack), "If-Match": agreed.headers["ETag"]},
    )
    assert no_date.status_code == 422 and no_date.json()["errors"][0]["field"] == "due_date"
    extended = await contract.client.post(
        f"/api/v1/derogations/{did}/extend",
        json={"due_date": "2027-03-31", "note": "recruitment delayed"},
        headers={**commissioner(stack), "If-Match": agreed.headers["ETag"]},
    )
    assert extended.json()["due_date"] == "2027-03-31"
    illegal = await contract.client.post(
        f"/api/v1/derogations/{did}/sanction",
        json={},
        headers={**commissioner(stack), "If-Match": extended.headers["ETag"]},
    )
    assert illegal.status_code == 409
    assert illegal.json()["current_state"] == "agreed" and "breach" in illegal.json()["allowed_actions"]

    export = await contract.client.get("/api/v1/contracts.csv", params={"fy": "2026/27"}, headers=commissioner(stack))
    assert export.headers["content-type"].startswith("text/csv")
    row = next(r for r in csv.DictReader(io.StringIO(export.text)) if r["provider_ods"] == provider)
    assert row["contract_value"] == "126000.00" and row["cquin_value"] == "1500.00"
    assert row["excluded_drugs_budget"] == "290000.00" and row["open_derogations"] == "1"
