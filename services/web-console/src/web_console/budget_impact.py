"""The budget impact at decision time: before an IFR decision or a CDF application is sent, the page asks
contract-service's what-if (the provider's budget line's forecast outturn if this commitment is added)
and shows it; the figure shown travels with the form (a hidden field) and goes with the decision, which
keeps it. A figure shown for another amount or year than the one being decided is worked out again and
shown before anything is recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from casework.budget_impact import BudgetImpact
from casework.financial_year import financial_year_of
from web_console.apis import ApiProblem, Apis, ServiceUnavailable

FIELD = "budget_impact"  # the hidden field carrying the figure shown
CHECKED = "budget_impact_checked"  # the what-if was asked (even if it could not be worked out)


@dataclass(frozen=True)
class Shown:
    """What the page shows: the what-if, or why there is none."""

    impact: dict[str, Any] | None
    why_not: str | None = None


async def what_if(
    apis: Apis, *, source: str, provider: str | None, amount: Decimal | str | None, dmd_id: str | None, on: date
) -> Shown:
    """The what-if for this commitment; a refusal or an unreachable contract-service is said in words
    (the decision can still be recorded, keeping no figure)."""
    if not provider:
        return Shown(None, "the request names no trust")
    if amount in (None, ""):
        return Shown(None, "no cost is given to commit")
    params = {"source": source, "provider": provider, "amount": str(amount), "dmd_id": dmd_id, "on": on.isoformat()}
    try:
        return Shown(await apis.contract.get("/forecast-outturn/what-if", **params))
    except ApiProblem as problem:
        return Shown(None, problem.detail or problem.title)
    except ServiceUnavailable:
        return Shown(None, "the contract service did not answer")


def carried(form: Any) -> dict[str, Any] | None:
    """The figure the page showed, as the form brought it back; None if none or not one."""
    raw = str(form.get(FIELD) or "")
    if not raw:
        return None
    try:
        return BudgetImpact.model_validate(json.loads(raw)).model_dump(mode="json")
    except (ValueError, ValidationError):
        return None


def fits(impact: dict[str, Any] | None, amount: Decimal | str | None, on: date) -> bool:
    """The figure shown is this decision's: the same amount (when it commits one) and year."""
    if impact is None:
        return False
    if impact.get("financial_year") != financial_year_of(on).financial_year:
        return False
    if amount in (None, ""):
        return True
    try:
        return Decimal(str(impact.get("amount"))) == Decimal(str(amount))
    except InvalidOperation:
        return False


def problem_is_about_it(problem: ApiProblem) -> bool:
    """The service refused the figure sent (another amount, year ...): the page works it out again."""
    return any(str(e.get("field", "")).startswith(f"{FIELD}.") for e in problem.errors)
