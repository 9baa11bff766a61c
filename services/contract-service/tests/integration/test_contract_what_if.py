"""The what-if at decision time (GET /forecast-outturn/what-if): a line's forecast outturn if a
commitment is added, judged by the alerts' margin, with nothing stored; 422s name the field; the roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from contract_fixtures import (
    DRUG_A,
    DRUG_B,
    add_line,
    commissioner,
    create_contract,
    forecast_event,
    new_provider,
    send,
    stored_for,
)

from embedded_stack.testing import RunningService, TestStack, eventually

WHAT_IF = "/api/v1/forecast-outturn/what-if"


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def spread(total: int) -> list[str]:
    month = (Decimal(total) / 12).quantize(Decimal("0.01"))
    return [str(month)] * 11 + [str(Decimal(total) - month * 11)]


async def _line_with_forecast(contract: RunningService, stack: TestStack, total: int) -> tuple[str, dict]:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    await send(stack, forecast_event(provider, "CDF-0042", DRUG_A, spread(total)))

    async def arrived() -> bool:
        r = await contract.client.get(
            "/api/v1/forecast-outturn", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
        )
        return r.json()["lines"][0]["forecast_outturn"] == f"{total}.00"

    await eventually(arrived)
    return provider, line


async def test_what_if_crossing_the_margin_and_within_it(stack: TestStack, contract: RunningService) -> None:
    provider, line = await _line_with_forecast(contract, stack, 100_000)
    chair = stack.auth("X24", "panel_member")
    before = await stored_for(contract, provider)

    crossing = await contract.client.get(
        WHAT_IF,
        params={"provider": provider, "source": "cdf", "dmd_id": DRUG_A, "amount": "10000.00", "on": "2026-05-04"},
        headers=stack.auth("X24", "cdf_manager"),
    )
    assert crossing.status_code == 200, crossing.text
    body = crossing.json()
    assert body["budget_line_id"] == line["id"] and body["line_name"] == "CDF drugs"
    assert body["financial_year"] == "2026/27"
    figures = [body[k] for k in ("budget", "forecast_outturn_before", "forecast_outturn_after", "variance_after")]
    assert figures == ["100000.00", "100000.00", "110000.00", "10000.00"]
    assert (body["at_risk_before"], body["at_risk_after"], body["crosses_margin"], body["raises_alert"]) == (
        False,
        True,
        True,
        True,
    )
    assert "crosses the at-risk margin of 5%" in body["summary"]

    within = await contract.client.get(
        WHAT_IF, params={"provider": provider, "source": "cdf", "amount": "5000", "fy": "2026/27"}, headers=chair
    )
    assert within.status_code == 200, within.text
    assert within.json()["forecast_outturn_after"] == "105000.00"  # at the threshold is not beyond it
    assert within.json()["amount"] == "5000.00"  # in pence, however it was asked
    assert (within.json()["crosses_margin"], within.json()["raises_alert"]) == (False, False)
    assert "stays within the at-risk margin" in within.json()["summary"]

    # an IFR finds no high-cost drugs line on this contract: unallocated, figures empty
    ifr = await contract.client.get(
        WHAT_IF, params={"provider": provider, "source": "ifr", "dmd_id": DRUG_B, "amount": "100"}, headers=chair
    )
    assert ifr.status_code == 200, ifr.text
    assert ifr.json()["budget_line_id"] is None and ifr.json()["forecast_outturn_after"] is None
    assert "unallocated" in ifr.json()["summary"]

    assert await stored_for(contract, provider) == before  # nothing stored, nothing published, nothing audited


async def test_what_if_bad_input_names_the_field(stack: TestStack, contract: RunningService) -> None:
    headers = commissioner(stack)
    cases = [
        ({"source": "cdf", "amount": "10"}, "provider"),
        ({"provider": "RRV", "source": "sact", "amount": "10"}, "source"),
        ({"provider": "RRV", "source": "cdf", "amount": "-1"}, "amount"),
        ({"provider": "RRV", "source": "cdf", "amount": "1.234"}, "amount"),
        ({"provider": "RRV", "source": "cdf", "amount": "ten"}, "amount"),
        ({"provider": "RRV", "source": "cdf"}, "amount"),
        ({"provider": "RRV", "source": "cdf", "amount": "1", "dmd_id": "12345"}, "dmd_id"),
        ({"provider": "RRV", "source": "cdf", "amount": "1", "fy": "2026/28"}, "fy"),
        ({"provider": "RRV", "source": "cdf", "amount": "1", "fy": "2026/27", "on": "2027-04-01"}, "on"),
        ({"provider": "R!V", "source": "cdf", "amount": "1"}, "provider"),
    ]
    for params, field in cases:
        response = await contract.client.get(WHAT_IF, params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = {e["field"] for e in response.json().get("errors", [])} | {response.json().get("field")}
        assert any(f and f.split(".")[-1] == field for f in fields), (params, response.json())


async def test_what_if_roles_and_own_trust(stack: TestStack, contract: RunningService) -> None:
    provider, _ = await _line_with_forecast(contract, stack, 50_000)
    params = {"provider": provider, "source": "cdf", "amount": "100"}
    for org, role in [
        ("X24", "finance_lead"),
        ("X24", "ifr_officer"),
        (provider, "clinician"),
        (provider, "trust_finance"),
    ]:
        response = await contract.client.get(WHAT_IF, params=params, headers=stack.auth(org, role))
        assert response.status_code == 200, (role, response.text)
        assert response.json()["forecast_outturn_after"] == "50100.00"
    refused = await contract.client.get(WHAT_IF, params=params, headers=stack.auth("X24", "mail_operator"))
    assert refused.status_code == 403
    other = await contract.client.get(WHAT_IF, params=params, headers=stack.auth("RRV", "clinician"))
    assert other.status_code == 404  # another trust's line, as the forecast answers
    own = await contract.client.get(
        WHAT_IF, params={"source": "cdf", "amount": "100"}, headers=stack.auth(provider, "clinician")
    )
    assert own.status_code == 200 and own.json()["provider_ods"] == provider  # a trust user's own trust
