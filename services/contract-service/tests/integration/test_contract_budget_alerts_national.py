"""The dashboard's reads: the at-risk alerts kept with when they were raised and cleared (JSON, CSV),
the national summary sorted by variance (commissioners only), and one line's chart; a provider user
sees only their own trust's."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest
from contract_fixtures import DRUG_A, add_line, commissioner, create_contract, forecast_event, new_provider, send

from embedded_stack.testing import RunningService, TestStack, eventually

FY = {"fy": "2026/27"}


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def spread(total: int) -> list[str]:
    month = (Decimal(total) / 12).quantize(Decimal("0.01"))
    return [str(month)] * 11 + [str(Decimal(total) - month * 11)]


async def forecast_reaches(contract: RunningService, stack: TestStack, provider: str, total: int) -> None:
    async def reached() -> bool:
        got = await contract.client.get(
            "/api/v1/forecast-outturn", params={"provider": provider, **FY}, headers=commissioner(stack)
        )
        return Decimal(got.json()["lines"][0]["forecast_outturn"]) == total

    await send(stack, forecast_event(provider, "CDF-0042", DRUG_A, spread(total)))
    await eventually(reached)


async def alerts(contract: RunningService, headers: dict[str, str], **params: str) -> list[dict]:
    got = await contract.client.get("/api/v1/forecast-outturn/alerts", params=params, headers=headers)
    assert got.status_code == 200, got.text
    return got.json()["items"]


async def test_alerts_are_kept_raised_and_cleared(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    mine = {"provider": provider, **FY}
    for total in (100_000, 110_000, 120_000):  # at risk above 105,000: one crossing, one alert
        await forecast_reaches(contract, stack, provider, total)
    [first] = await alerts(contract, commissioner(stack), **mine)
    assert (first["budget_line_id"], first["line_name"], first["forecast_outturn"], first["variance"]) == (
        line["id"],
        "CDF drugs",
        "110000.00",
        "10000.00",
    )
    assert first["margin_pct"] == "5.00" and first["cleared_at"] is None
    assert datetime.fromisoformat(first["raised_at"]).tzinfo is not None

    await forecast_reaches(contract, stack, provider, 95_000)  # back within the margin: cleared
    await forecast_reaches(contract, stack, provider, 130_000)  # crosses again: a second alert
    cleared, second = await alerts(contract, commissioner(stack), **mine)
    assert cleared["id"] == first["id"] and cleared["cleared_at"] is not None
    assert (second["forecast_outturn"], second["cleared_at"]) == ("130000.00", None)
    assert [a["id"] for a in await alerts(contract, commissioner(stack), open="true", **mine)] == [second["id"]]

    export = await contract.client.get("/api/v1/forecast-outturn/alerts.csv", params=mine, headers=commissioner(stack))
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["line_name"], r["forecast_outturn"]) for r in rows] == [
        ("CDF drugs", "110000.00"),
        ("CDF drugs", "130000.00"),
    ]

    # the trust itself sees its alerts; another trust sees none of them and is refused by name
    own = stack.auth(provider, "trust_finance")
    assert len(await alerts(contract, own, **FY)) == 2
    other = stack.auth(new_provider(), "trust_finance")
    assert await alerts(contract, other, **FY) == []
    refused = await contract.client.get("/api/v1/forecast-outturn/alerts", params=mine, headers=other)
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    refused_csv = await contract.client.get("/api/v1/forecast-outturn/alerts.csv", params=mine, headers=other)
    assert refused_csv.status_code == 404


async def test_a_bad_year_is_a_problem_at_its_field(stack: TestStack, contract: RunningService) -> None:
    for path in ("/api/v1/forecast-outturn/alerts", "/api/v1/forecast-outturn/national"):
        got = await contract.client.get(path, params={"fy": "2026"}, headers=commissioner(stack))
        assert got.status_code == 422, got.text
        assert [e["field"] for e in got.json()["errors"]] == ["fy"]


async def test_national_summary_sorted_by_variance(stack: TestStack, contract: RunningService) -> None:
    over, under, level = new_provider(), new_provider(), new_provider()
    for provider, total in ((over, 150_000), (under, 60_000), (level, 100_000)):
        cid = (await create_contract(contract.client, stack, provider))["id"]
        await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
        await forecast_reaches(contract, stack, provider, total)

    got = await contract.client.get("/api/v1/forecast-outturn/national", params=FY, headers=commissioner(stack))
    assert got.status_code == 200, got.text
    summary = got.json()
    providers = summary["providers"]
    variances = [Decimal(p["variance"]) for p in providers]
    assert variances == sorted(variances, reverse=True)
    mine = [p for p in providers if p["provider_ods"] in (over, under, level)]
    assert [(p["provider_ods"], p["variance"], p["variance_pct"], p["lines_at_risk"]) for p in mine] == [
        (over, "50000.00", "50.00", 1),
        (level, "0.00", "0.00", 0),
        (under, "-40000.00", "-40.00", 0),
    ]
    assert Decimal(summary["totals"]["variance"]) == sum(variances)

    export = await contract.client.get("/api/v1/forecast-outturn/national.csv", params=FY, headers=commissioner(stack))
    rows = [r for r in csv.DictReader(io.StringIO(export.text)) if r["provider_ods"] in (over, under, level)]
    assert [(r["provider_ods"], r["forecast_outturn"]) for r in rows] == [
        (over, "150000.00"),
        (level, "100000.00"),
        (under, "60000.00"),
    ]

    trust = stack.auth(over, "trust_finance")  # a trust may not see other trusts' money
    for path in ("/api/v1/forecast-outturn/national", "/api/v1/forecast-outturn/national.csv"):
        refused = await contract.client.get(path, params=FY, headers=trust)
        assert refused.status_code == 403, refused.text


async def test_one_lines_chart(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    await add_line(contract.client, stack, cid, "device", "5000.00", category="devices", line_name="Devices")
    await forecast_reaches(contract, stack, provider, 90_000)
    params = {"provider": provider, "line": line["id"], **FY}
    chart = await contract.client.get("/api/v1/forecast-outturn/chart.svg", params=params, headers=commissioner(stack))
    assert chart.status_code == 200, chart.text
    svg = ET.fromstring(chart.text)
    assert svg.findtext("{http://www.w3.org/2000/svg}title") == f"CDF drugs: {provider} 2026/27"
    assert "against budget £100,000" in chart.text
    months = await contract.client.get(
        "/api/v1/forecast-outturn/months.csv", params=params, headers=commissioner(stack)
    )
    rows = list(csv.DictReader(io.StringIO(months.text)))
    assert [r["month"] for r in rows] == [f"M{m}" for m in range(1, 13)]
    assert {r["line_name"] for r in rows} == {"CDF drugs"}
    assert (rows[0]["month_start"], rows[0]["budget_profile"], rows[11]["budget_profile"]) == (
        "2026-04-01",
        "8333.33",
        "8333.37",  # the pennies left over go to March, so the profile adds up to the budget
    )
    assert sum(Decimal(r["actual"]) + Decimal(r["forecast"]) for r in rows) == 90_000
    every_line = await contract.client.get(
        "/api/v1/forecast-outturn/months.csv", params={"provider": provider, **FY}, headers=commissioner(stack)
    )
    assert len(list(csv.DictReader(io.StringIO(every_line.text)))) == 24
    missing = {**params, "line": "00000000-0000-0000-0000-000000000000"}
    got = await contract.client.get("/api/v1/forecast-outturn/chart.svg", params=missing, headers=commissioner(stack))
    assert got.status_code == 404
    got = await contract.client.get("/api/v1/forecast-outturn/months.csv", params=missing, headers=commissioner(stack))
    assert got.status_code == 404
