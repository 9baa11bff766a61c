"""Forecast outturn from cdf.forecast.updated: figures, CSV, chart, and the at-risk alert that fires
once per crossing of the margin (counted on contract.events)."""

from __future__ import annotations

import asyncio
import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from contract_fixtures import (
    DRUG_A,
    DRUG_C,
    add_line,
    commissioner,
    create_contract,
    forecast_event,
    new_provider,
    send,
    settled_events,
)
from sqlalchemy import func, select

from casework.inbox import Delivery
from contract_service.db import outturn as outturn_module
from embedded_stack.testing import RunningService, TestStack, eventually


@pytest.fixture(scope="module")
async def contract(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("contract") as service:
        yield service


def spread(total: int) -> list[str]:
    """Twelve months adding up to `total`."""
    month = (Decimal(total) / 12).quantize(Decimal("0.01"))
    return [str(month)] * 11 + [str(Decimal(total) - month * 11)]


async def outturn(contract: RunningService, stack: TestStack, provider: str) -> dict:
    response = await contract.client.get(
        "/api/v1/forecast-outturn", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_at_risk_once_per_crossing(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    alerts_seen = []
    # margin 5% (default): at risk above 105,000
    for total, alerts_expected in [(100_000, 0), (110_000, 1), (120_000, 1), (95_000, 1), (130_000, 2), (131_000, 2)]:
        await send(stack, forecast_event(provider, "CDF-0042", DRUG_A, spread(total)))

        async def moved(expected: Decimal = Decimal(total)) -> dict | None:
            figures = await outturn(contract, stack, provider)
            return figures if Decimal(figures["lines"][0]["forecast_outturn"]) == expected else None

        figures = await eventually(moved)
        assert figures["lines"][0]["at_risk"] == (total > 105_000)
        alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
        alerts_seen.append(len(alerts))
        assert len(alerts) == alerts_expected, (total, alerts_seen)
    first = alerts[0]["data"]
    assert (first["line_name"], first["budget"], first["forecast_outturn"], first["variance"], first["margin_pct"]) == (
        "CDF drugs",
        "100000.00",
        "110000.00",
        "10000.00",
        "5",
    )
    assert first["provider_ods"] == provider and first["financial_year"] == "2026/27"


async def test_outturn_figures_csv_and_chart(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    await add_line(contract.client, stack, cid, "cdf", "200000.00", category="cdf", line_name="CDF drugs")
    monthly = [str(1000 * m) for m in range(1, 13)]  # 78,000 a year
    await send(
        stack,
        forecast_event(provider, "CDF-0001", DRUG_A, monthly),
        forecast_event(f"{provider}01", "CDF-0002", DRUG_A, monthly),  # a site of the same trust, another entry
        forecast_event(provider, "CDF-0003", DRUG_C, ["100"] * 12),
    )

    async def all_in() -> dict | None:
        figures = await outturn(contract, stack, provider)
        return figures if figures["lines"] and figures["lines"][0]["forecast_outturn"] == "157200.00" else None

    figures = await eventually(all_in)
    [cdf] = figures["lines"]
    # three entries on the one CDF category line: 78,000 x 2 (trust and its site) + 1,200
    assert (cdf["budget"], cdf["actual_to_date"], cdf["variance"], cdf["variance_pct"]) == (
        "200000.00",
        "12300.00",  # M1-M3 actuals: (1000 + 2000 + 3000) x 2 + 3 x 100
        "-42800.00",
        "-21.40",
    )
    assert cdf["months"][0] == {
        "month": "M1",
        "month_start": "2026-04-01",
        "actual": "2100.00",
        "forecast": "0.00",
        "budget_profile": "16666.67",
    }
    assert cdf["months"][11] == {
        "month": "M12",
        "month_start": "2027-03-01",
        "actual": "0.00",
        "forecast": "24100.00",
        "budget_profile": "16666.63",  # the budget spread over the year; the pennies left go to March
    }
    assert figures["totals"]["forecast_outturn"] == cdf["forecast_outturn"]
    assert figures["unallocated"]["cdf_forecast_outturn"] == "0.00"

    export = await contract.client.get(
        "/api/v1/forecast-outturn.csv", params={"provider": provider, "fy": "2026/27"}, headers=commissioner(stack)
    )
    [row] = list(csv.DictReader(io.StringIO(export.text)))
    assert (row["line_name"], row["forecast_outturn"], row["M1"], row["M12"]) == (
        "CDF drugs",
        "157200.00",
        "2100.00",
        "24100.00",
    )

    chart = await contract.client.get(
        "/api/v1/forecast-outturn/chart.svg",
        params={"provider": provider, "fy": "2026/27"},
        headers=commissioner(stack),
    )
    assert chart.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(chart.text)
    ns = {"s": "http://www.w3.org/2000/svg"}
    actual = [Decimal(r.get("data-value")) for r in svg.findall("s:rect[@class='actual']", ns)]
    forecast = [Decimal(r.get("data-value")) for r in svg.findall("s:rect[@class='forecast']", ns)]
    assert len(actual) == len(forecast) == 12
    assert sum(actual) + sum(forecast) == Decimal(cdf["forecast_outturn"])
    heights = [float(r.get("height")) for r in svg.findall("s:rect[@class='forecast']", ns)]
    assert heights[11] > heights[4] > 0  # bars grow with the forecast
    assert svg.find("s:line[@class='budget']", ns) is not None
    assert "200,000" in chart.text


async def handled(contract: RunningService, envelope: Any) -> bool:
    inbox = contract.runtime.tables.inbox
    async with contract.runtime.sessions() as session:
        return bool(await session.scalar(select(func.count()).where(inbox.c.event_id == envelope.id)))


async def test_an_older_forecast_arriving_late_changes_nothing(stack: TestStack, contract: RunningService) -> None:
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    newer = forecast_event(provider, "CDF-0042", DRUG_A, spread(110_000), as_of="2026-06-30")
    older = forecast_event(provider, "CDF-0042", DRUG_A, spread(50_000), as_of="2026-05-31")
    await send(stack, newer, older)
    await eventually(lambda: handled(contract, older))
    [held] = (await outturn(contract, stack, provider))["lines"]
    assert (held["forecast_outturn"], held["at_risk"]) == ("110000.00", True)
    alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
    assert [a["data"]["forecast_outturn"] for a in alerts] == ["110000.00"]


async def test_forecasts_handled_side_by_side_alert_once(stack: TestStack, contract: RunningService) -> None:
    """Two entries' forecasts in two concurrent transactions: each alone stays under the margin, both
    together cross it. The line lock, and the figures read after it, let exactly one of them see the
    crossing, however the two interleave."""
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    consumer = contract.runtime.consumer
    for round_ in range(3):
        entries = [f"CDF-{round_}A", f"CDF-{round_}B"]
        events = [forecast_event(provider, e, DRUG_A, spread(60_000 + round_)) for e in entries]
        deliveries = [Delivery("cdf.events", 0, None, e.to_bytes()) for e in events]
        assert await asyncio.gather(*(consumer.deliver(d) for d in deliveries)) == ["processed", "processed"]
        [held] = (await outturn(contract, stack, provider))["lines"]
        assert held["at_risk"] is True
        # back under the margin for the next round: both entries' forecasts to nothing
        for e in entries:
            back = Delivery("cdf.events", 0, None, zeroed(provider, e).to_bytes())
            assert await consumer.deliver(back) == "processed"
        [held] = (await outturn(contract, stack, provider))["lines"]
        assert held["at_risk"] is False
    alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
    assert len(alerts) == 3  # one per crossing


async def test_forecasts_fetched_together_are_evaluated_once(stack: TestStack, contract: RunningService) -> None:
    """Records fetched together are handled in one transaction: the provider's lines are evaluated once,
    at its end, against every forecast it changed (one alert naming the outturn they make together)."""
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    line = await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    events = [
        forecast_event(provider, "CDF-0042", DRUG_A, spread(60_000)),
        forecast_event(provider, "CDF-0043", DRUG_A, spread(50_000)),  # 110,000 together: past the margin
        forecast_event(provider, "CDF-0042", DRUG_A, spread(70_000), as_of="2026-07-31"),  # 120,000
    ]
    deliveries = [Delivery("cdf.events", 0, i, e.to_bytes()) for i, e in enumerate(events)]
    assert await contract.runtime.consumer.deliver_many(deliveries) == ["processed"] * 3
    [held] = (await outturn(contract, stack, provider))["lines"]
    assert (held["forecast_outturn"], held["at_risk"]) == ("120000.00", True)
    alerts = await settled_events(stack, contract, "contract.budget.at_risk", budget_line_id=line["id"])
    assert [a["data"]["forecast_outturn"] for a in alerts] == ["120000.00"]


def zeroed(provider: str, entry: str) -> Any:
    return forecast_event(provider, entry, DRUG_A, ["0"] * 12, as_of="2026-07-31")


async def test_the_outturn_read_is_one_snapshot(
    stack: TestStack, contract: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forecast that crosses the margin commits between the outturn's read of the lines and its read
    of the figures: the answer shows the state before it (figures and at-risk flag agreeing), never the
    new outturn on a line not yet at risk. The next read shows the state after it."""
    provider = new_provider()
    cid = (await create_contract(contract.client, stack, provider))["id"]
    await add_line(contract.client, stack, cid, "cdf", "100000.00", category="cdf", line_name="CDF drugs")
    consumer = contract.runtime.consumer
    first = forecast_event(provider, "CDF-0042", DRUG_A, spread(100_000), as_of="2026-06-30")
    assert await consumer.deliver(Delivery("cdf.events", 0, None, first.to_bytes())) == "processed"
    crossing = forecast_event(provider, "CDF-0042", DRUG_A, spread(120_000), as_of="2026-07-31")
    real_sources = outturn_module._sources
    committed: list[str] = []

    async def sources_after_a_commit(*args: Any) -> Any:
        if not committed:  # the outturn has read the lines; the crossing forecast commits now
            committed.append("delivering")  # (its own evaluation reads figures through here too)
            committed[0] = await consumer.deliver(Delivery("cdf.events", 0, None, crossing.to_bytes()))
        return await real_sources(*args)

    monkeypatch.setattr(outturn_module, "_sources", sources_after_a_commit)
    [during] = (await outturn(contract, stack, provider))["lines"]
    assert committed == ["processed"]
    assert (during["forecast_outturn"], during["at_risk"]) == ("100000.00", False)
    [after] = (await outturn(contract, stack, provider))["lines"]
    assert (after["forecast_outturn"], after["at_risk"]) == ("120000.00", True)
