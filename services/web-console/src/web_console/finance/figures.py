"""The forecast outturn as the finance pages show it: money in words a finance reader expects (an
overspend says "over", never a minus sign), months by name, the provider's months summed over lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from casework import clock
from casework.financial_year import financial_year_of
from web_console.pages import long_date, money

ZERO = Decimal(0)


def this_year() -> str:
    return financial_year_of(clock.today()).financial_year


def variance_text(value: Any, pct: Any = None) -> str:
    """Variance = forecast outturn - budget: positive is an overspend."""
    amount = Decimal(str(value))
    share = f" ({abs(Decimal(str(pct)))}%)" if pct not in (None, "") else ""
    if amount > 0:
        return f"{money(amount)} over{share}"
    if amount < 0:
        return f"{money(-amount)} under{share}"
    return "On budget"


def month_name(month_start: str) -> str:
    return f"{date.fromisoformat(month_start):%B %Y}"


@dataclass(frozen=True)
class Month:
    name: str
    actual: str
    forecast: str
    total: str
    budget_profile: str


def months_of(lines: list[dict[str, Any]]) -> list[Month]:
    """The months of these lines added together (one line's months when given one)."""
    if not lines:
        return []
    out = []
    for i, first in enumerate(lines[0]["months"]):
        actual, forecast, profile = (
            sum((Decimal(x["months"][i][k]) for x in lines), ZERO) for k in ("actual", "forecast", "budget_profile")
        )
        name = month_name(first["month_start"])
        out.append(Month(name, money(actual), money(forecast), money(actual + forecast), money(profile)))
    return out


def query(**params: str | None) -> str:
    return urlencode({k: v for k, v in params.items() if v})


def chart_text(what: str, budget: Any, outturn: Any, variance: Any) -> str:
    """The chart's text alternative: what it shows and its conclusion; the table after it has the figures."""
    return (
        f"Bar chart of {what}: actual and forecast spend for each month from April to March, against the "
        f"budget's monthly profile. Forecast outturn {money(outturn)} against a budget of {money(budget)}, "
        f"{variance_text(variance)}. The table that follows gives each month's figures."
    )


def alert_shown(alert: dict[str, Any]) -> dict[str, Any]:
    return alert | {
        "raised": long_date(alert["raised_at"]),
        "cleared": long_date(alert["cleared_at"]) if alert["cleared_at"] else "Not yet: still at risk",
        "budget_text": money(alert["budget"]),
        "outturn_text": money(alert["forecast_outturn"]),
        "variance_text": variance_text(alert["variance"]),
    }
