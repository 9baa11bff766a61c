"""Forecast outturn of a budget line against its budget, and the at-risk alert rule (pure).

Month by month (M1 = April ... M12 = March):
- a month the provider has sent a drug return for: actual = the funded cost of the return's lines
  on this budget line; nothing more is forecast for that month;
- otherwise, on a CDF line: CDF's own figures for the month (SACT-based actual plus forecast), the
  sum over the list entries whose forecasts fall on this line;
- otherwise, on other lines: after the last returned month, the run-rate (funded actual to date /
  months up to the last return); before it, nothing (a missing return is not guessed).
Forecast outturn = the sum over the year; variance = forecast outturn - budget (positive: overspend).

At risk: forecast outturn > budget x (1 + margin %). The alert fires once when a line crosses into
risk and not again until it has fallen back to or below that threshold (the state is kept per line).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from casework.financial_year import financial_year_of
from contract_service.domain.contracts import pence

ZERO = Decimal(0)
MONTHS = range(1, 13)


@dataclass(frozen=True)
class MonthFigures:
    month: int  # 1 = April ... 12 = March
    actual: Decimal
    forecast: Decimal

    @property
    def total(self) -> Decimal:
        return self.actual + self.forecast


@dataclass(frozen=True)
class LineOutturn:
    budget: Decimal
    actual_to_date: Decimal
    forecast_outturn: Decimal
    months: tuple[MonthFigures, ...]

    @property
    def variance(self) -> Decimal:
        return self.forecast_outturn - self.budget

    @property
    def variance_pct(self) -> Decimal | None:
        return None if self.budget == 0 else pence(self.variance / self.budget * 100)


Series = dict[int, tuple[Decimal, Decimal]]  # FY month -> (actual, forecast)


def add_series(into: Series, months: Mapping[int, tuple[Decimal, Decimal]]) -> Series:
    """Sum (actual, forecast) month series, e.g. several CDF entries falling on one line."""
    out = dict(into)
    for month, (actual, forecast) in months.items():
        a, f = out.get(month, (ZERO, ZERO))
        out[month] = (a + actual, f + forecast)
    return out


def forecast_series(months: list[dict[str, Any]], as_of: date, actual: Decimal, outturn: Decimal) -> Series:
    """A CDF forecast (its `months` as published) as (actual, forecast) per FY month; a forecast
    published without months is placed whole in its as-of month."""
    if months:
        return {int(m["fy_month"]): (Decimal(str(m["actual"])), Decimal(str(m["forecast"]))) for m in months}
    return {financial_year_of(as_of).month: (actual, outturn - actual)}


def line_outturn(
    budget: Decimal,
    cdf_series: Mapping[int, tuple[Decimal, Decimal]] | None,
    returned: Mapping[int, Decimal],
    returned_months: Set[int],
) -> LineOutturn:
    """Figures of one line for the year; `cdf_series` only for CDF lines with forecasts."""
    last_return = max(returned_months, default=0)
    run_rate = sum(returned.values(), ZERO) / last_return if last_return and cdf_series is None else ZERO
    months = []
    for m in MONTHS:
        if m in returned_months:
            actual, forecast = returned.get(m, ZERO), ZERO
        elif cdf_series is not None:
            actual, forecast = cdf_series.get(m, (ZERO, ZERO))
        else:
            actual, forecast = ZERO, (run_rate if m > last_return else ZERO)
        months.append(MonthFigures(m, pence(actual), pence(forecast)))
    actual_to_date = sum((f.actual for f in months), ZERO)
    outturn = sum((f.total for f in months), ZERO)
    return LineOutturn(pence(budget), actual_to_date, outturn, tuple(months))


def budget_profile(budget: Decimal) -> tuple[Decimal, ...]:
    """The budget spread evenly over M1..M12 (what the chart draws as the monthly profile); the pennies
    the division leaves go to M12, so the months add up to the budget."""
    month = pence(budget / 12)
    return (*([month] * 11), pence(budget) - month * 11)


def risk_threshold(budget: Decimal, margin_pct: Decimal) -> Decimal:
    return budget * (1 + margin_pct / 100)


def is_over_margin(budget: Decimal, forecast_outturn: Decimal, margin_pct: Decimal) -> bool:
    return forecast_outturn > risk_threshold(budget, margin_pct)


@dataclass(frozen=True)
class RiskStep:
    at_risk: bool  # the state to keep on the line
    alert: bool  # publish contract.budget.at_risk now


def risk_step(was_at_risk: bool, budget: Decimal, forecast_outturn: Decimal, margin_pct: Decimal) -> RiskStep:
    """Once per crossing: alert only on the move from not-at-risk to at-risk."""
    over = is_over_margin(budget, forecast_outturn, margin_pct)
    return RiskStep(at_risk=over, alert=over and not was_at_risk)


@dataclass(frozen=True)
class WhatIf:
    """A line's forecast outturn before and after a commitment not yet made (nothing is stored)."""

    budget: Decimal
    amount: Decimal  # the commitment tried
    outturn_before: Decimal
    outturn_after: Decimal
    margin_pct: Decimal
    at_risk_before: bool  # over the margin before it
    at_risk_after: bool
    raises_alert: bool  # the evaluation after it would publish contract.budget.at_risk

    @property
    def variance_before(self) -> Decimal:
        return self.outturn_before - self.budget

    @property
    def variance_after(self) -> Decimal:
        return self.outturn_after - self.budget

    @property
    def crosses_margin(self) -> bool:
        """The commitment takes the line from within the margin to beyond it."""
        return self.at_risk_after and not self.at_risk_before


def what_if(
    budget: Decimal, outturn_before: Decimal, was_at_risk: bool, amount: Decimal, margin_pct: Decimal
) -> WhatIf:
    """The commitment added in full to the line's forecast outturn of its year, judged by the at-risk
    rule the alerts use (`is_over_margin`, `risk_step`): `was_at_risk` is the state kept on the line."""
    after = pence(outturn_before + amount)
    return WhatIf(
        budget=pence(budget),
        amount=pence(amount),
        outturn_before=pence(outturn_before),
        outturn_after=after,
        margin_pct=margin_pct,
        at_risk_before=is_over_margin(budget, outturn_before, margin_pct),
        at_risk_after=is_over_margin(budget, after, margin_pct),
        raises_alert=risk_step(was_at_risk, budget, after, margin_pct).alert,
    )


def _pounds(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


def what_if_summary(line_name: str | None, result: WhatIf | None, amount: Decimal) -> str:
    """The what-if in plain words, as the decision pages show it and the decision keeps it."""
    if line_name is None or result is None:
        return (
            f"No budget line of the provider's contract would carry this commitment of {_pounds(amount)}: "
            "it would be recorded as unallocated."
        )
    over = result.variance_after
    variance = f"{_pounds(over)} over budget" if over > 0 else f"{_pounds(-over)} under budget"
    text = (
        f"Adding {_pounds(result.amount)} to {line_name} takes its forecast outturn from "
        f"{_pounds(result.outturn_before)} to {_pounds(result.outturn_after)} against a budget of "
        f"{_pounds(result.budget)} ({variance}). "
    )
    if result.crosses_margin:
        return text + f"This crosses the at-risk margin of {result.margin_pct}%: the line would be at risk."
    if result.at_risk_before:
        return text + f"The line is already beyond the at-risk margin of {result.margin_pct}%."
    return text + f"It stays within the at-risk margin of {result.margin_pct}%."
