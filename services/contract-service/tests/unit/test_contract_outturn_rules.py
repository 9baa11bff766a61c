"""Forecast outturn per budget line and the once-per-crossing at-risk rule."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_service.api.chart import ChartMonth, render_chart
from contract_service.domain.budget_lines import BudgetKind, FundingSource, LineKey, choose_line
from contract_service.domain.outturn import (
    add_series,
    budget_profile,
    forecast_series,
    is_over_margin,
    line_outturn,
    risk_step,
    what_if,
    what_if_summary,
)

D = Decimal


def test_cdf_line_uses_cdf_figures_until_a_return_replaces_the_month() -> None:
    series = {1: (D(100), D(0)), 2: (D(50), D(60)), 3: (D(0), D(200))}
    without_returns = line_outturn(D(1000), series, {}, set())
    assert without_returns.actual_to_date == D(150)
    assert without_returns.forecast_outturn == D(410)
    assert without_returns.variance == D(-590)
    with_returns = line_outturn(D(1000), series, {1: D(120)}, {1, 2})  # M2 returned with nothing on this line
    assert [(m.actual, m.forecast) for m in with_returns.months[:3]] == [(D(120), D(0)), (D(0), D(0)), (D(0), D(200))]
    assert with_returns.forecast_outturn == D(320)


def test_other_lines_run_rate_after_the_last_return() -> None:
    figures = line_outturn(D(1200), None, {1: D(100), 2: D(200), 3: D(0)}, {1, 2, 3})
    assert figures.actual_to_date == D(300)
    assert [m.forecast for m in figures.months[3:]] == [D(100)] * 9  # 300 / 3 months
    assert figures.forecast_outturn == D(1200)
    assert figures.variance_pct == D("0.00")
    assert line_outturn(D(0), None, {}, set()).forecast_outturn == D(0)


def test_series_add_up_per_month() -> None:
    assert add_series({1: (D(1), D(2))}, {1: (D(3), D(4)), 2: (D(5), D(6))}) == {1: (D(4), D(6)), 2: (D(5), D(6))}


def test_at_risk_fires_once_per_crossing() -> None:
    budget, margin = D(1000), D(5)
    state, alerts = False, []
    for forecast in [D(1000), D(1050), D(1051), D(1200), D(1049), D(1100), D(1300)]:
        step = risk_step(state, budget, forecast, margin)
        state = step.at_risk
        alerts.append(step.alert)
    # 1050 is exactly budget + 5%: not beyond the margin
    assert alerts == [False, False, True, False, False, True, False]


@given(st.lists(st.integers(0, 3000), max_size=30))
def test_alerts_equal_upward_crossings(forecasts: list[int]) -> None:
    state, alerts = False, 0
    for f in forecasts:
        step = risk_step(state, D(1000), D(f), D(10))
        state, alerts = step.at_risk, alerts + step.alert
    over = [is_over_margin(D(1000), D(f), D(10)) for f in forecasts]
    crossings = sum(1 for i, o in enumerate(over) if o and (i == 0 or not over[i - 1]))
    assert alerts == crossings


LINES = [
    LineKey(uuid.UUID(int=1), BudgetKind.CDF, None, "CDF"),
    LineKey(uuid.UUID(int=2), BudgetKind.CDF, "3762011000001109", None),
    LineKey(uuid.UUID(int=3), BudgetKind.HIGH_COST_DRUG, None, "biologics"),
    LineKey(uuid.UUID(int=4), BudgetKind.HIGH_COST_DRUG, None, "IFR"),
    LineKey(uuid.UUID(int=5), BudgetKind.HIGH_COST_DRUG, "3762111000001105", None),
    LineKey(uuid.UUID(int=6), BudgetKind.DEVICE, None, "devices"),
]


def test_money_lands_on_the_most_specific_line() -> None:
    def chosen(source: FundingSource, dmd: str | None) -> int | None:
        found = choose_line(LINES, source, dmd)
        return None if found is None else found.int

    assert chosen(FundingSource.CDF, "3762011000001109") == 2  # the drug's own CDF line
    assert chosen(FundingSource.CDF, "3762211000001104") == 1  # the CDF category line
    assert chosen(FundingSource.IFR, "3762111000001105") == 5  # a high-cost drug line for that drug
    assert chosen(FundingSource.IFR, None) == 4  # the category line named for IFR wins over "biologics"
    assert chosen(FundingSource.NONE, "3762011000001109") == 2  # unauthorised spend: the drug's line
    assert chosen(FundingSource.NONE, "3762411000001100") == 3  # else the first high-cost category
    assert choose_line([LINES[5]], FundingSource.CDF, "3762011000001109") is None  # unallocated, not dropped


def test_forecast_series_from_months_or_unphased() -> None:
    months = [{"month": "2026-04", "fy_month": 1, "actual": "10.5", "forecast": "0"}]
    assert forecast_series(months, date(2026, 6, 30), D(0), D(0)) == {1: (D("10.5"), D(0))}
    # no months published: the whole forecast sits in the as-of month (June = M3)
    assert forecast_series([], date(2026, 6, 30), D(100), D(250)) == {3: (D(100), D(150))}


def test_chart_draws_stacked_months_against_the_budget_profile() -> None:
    months = [ChartMonth(f"M{m}", D(100 * m) if m <= 3 else D(0), D(0) if m <= 3 else D(50)) for m in range(1, 13)]
    svg = ET.fromstring(render_chart("RRV <2026/27>", months, D(1200), D(1050)))
    ns = {"s": "http://www.w3.org/2000/svg"}
    actual = {r.get("data-month"): float(r.get("height")) for r in svg.findall("s:rect[@class='actual']", ns)}
    forecast = {r.get("data-month"): float(r.get("height")) for r in svg.findall("s:rect[@class='forecast']", ns)}
    assert actual["M3"] == pytest.approx(3 * actual["M1"], abs=0.2) and actual["M1"] > 0 and actual["M4"] == 0
    assert forecast["M4"] == pytest.approx(actual["M1"] / 2, abs=0.2) and forecast["M1"] == 0
    budget_y = float(svg.find("s:line[@class='budget']", ns).get("y1"))  # type: ignore[union-attr]
    m1_top = float(svg.find("s:rect[@class='actual'][@data-month='M1']", ns).get("y"))  # type: ignore[union-attr]
    assert budget_y == pytest.approx(m1_top, abs=0.1)  # the monthly budget profile is 100 here, M1's actual too
    assert svg.find("s:title", ns).text == "RRV <2026/27>"  # type: ignore[union-attr]  # escaped, still parses


@given(st.integers(0, 10**11))
def test_budget_profile_spreads_the_budget_evenly_and_adds_up(pennies: int) -> None:
    budget = D(pennies) / 100
    profile = budget_profile(budget)
    assert len(profile) == 12 and sum(profile) == budget
    assert len(set(profile[:11])) == 1 and abs(profile[11] - profile[0]) < D("0.12")


def test_what_if_adds_the_commitment_and_judges_it_by_the_alerts_rule() -> None:
    crossing = what_if(D(100_000), D(100_000), False, D("5000.01"), D(5))
    assert (crossing.outturn_after, crossing.variance_after) == (D("105000.01"), D("5000.01"))
    assert crossing.crosses_margin and crossing.raises_alert and not crossing.at_risk_before
    at_threshold = what_if(D(100_000), D(100_000), False, D(5000), D(5))
    assert not at_threshold.at_risk_after and not at_threshold.crosses_margin  # at it is not beyond it
    already = what_if(D(100_000), D(110_000), True, D(1), D(5))
    assert already.at_risk_before and not already.crosses_margin and not already.raises_alert
    # the line's kept state decides the alert, as risk_step decides it for the evaluation
    stale_state = what_if(D(100_000), D(110_000), False, D(1), D(5))
    assert stale_state.raises_alert and not stale_state.crosses_margin


@given(
    st.decimals(0, 10**7, places=2),
    st.decimals(0, 10**7, places=2),
    st.decimals(0, 10**6, places=2),
    st.booleans(),
)
def test_what_if_agrees_with_risk_step(budget: Decimal, before: Decimal, amount: Decimal, was: bool) -> None:
    result = what_if(budget, before, was, amount, D(5))
    assert result.at_risk_after == is_over_margin(budget, before + amount, D(5))
    assert result.raises_alert == risk_step(was, budget, before + amount, D(5)).alert


def test_what_if_in_plain_words() -> None:
    words = what_if_summary("CDF drugs", what_if(D(1000), D(900), False, D(200), D(5)), D(200))
    assert words == (
        "Adding £200.00 to CDF drugs takes its forecast outturn from £900.00 to £1,100.00 against a budget "
        "of £1,000.00 (£100.00 over budget). This crosses the at-risk margin of 5%: the line would be at risk."
    )
    assert "(£50.00 under budget). It stays within" in what_if_summary(
        "X", what_if(D(1000), D(900), False, D(50), D(5)), D(50)
    )
    assert "unallocated" in what_if_summary(None, None, D(10))
