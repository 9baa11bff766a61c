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
