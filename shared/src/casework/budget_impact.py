"""The budget impact of a decision as it was shown before the decision was recorded.

contract-service answers it (`GET /api/v1/forecast-outturn/what-if`: the provider's budget line's
forecast outturn if this commitment is added, nothing stored); the console shows it on the IFR decision
and CDF application pages and sends it back with the decision, and ifr-service and cdf-service keep it
with the decision or application as shown. One model, so what the decision keeps is what was answered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Pounds = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


class BudgetImpact(BaseModel):
    """What adding a commitment does to the budget line it would fall on (`budget_line_id` None: no line
    of the provider's contract fits, the money would be unallocated; the figures are then empty)."""

    model_config = ConfigDict(extra="forbid")

    provider_ods: str = Field(min_length=3, max_length=5)
    financial_year: str = Field(pattern=r"^(19|20)\d{2}/\d{2}$")
    source: Literal["cdf", "ifr"]
    dmd_id: str | None = Field(None, max_length=20)
    amount: Pounds = Field(ge=0, description="the commitment tried")
    budget_line_id: uuid.UUID | None = None
    line_name: str | None = Field(None, max_length=200)
    budget: Pounds | None = None
    forecast_outturn_before: Pounds | None = None
    forecast_outturn_after: Pounds | None = None
    variance_before: Pounds | None = Field(None, description="forecast outturn - budget: positive is an overspend")
    variance_after: Pounds | None = None
    margin_pct: Decimal = Field(ge=0, max_digits=7, decimal_places=3)
    at_risk_before: bool = False
    at_risk_after: bool = False
    crosses_margin: bool = Field(False, description="from within the at-risk margin to beyond it")
    raises_alert: bool = Field(False, description="recording it would raise the line's at-risk alert")
    summary: str = Field(max_length=1000, description="the what-if in plain words, as shown")
    as_of: datetime = Field(description="when contract-service worked it out")


def mismatch(
    impact: BudgetImpact, *, source: str, provider_ods: str | None, financial_year: str, amount: Decimal | None
) -> tuple[str, str] | None:
    """Why the figure sent with a decision is not the what-if of this decision: (field, message), or
    None when it is (its source, the provider's trust, the year whose budget carries it, and the amount
    the decision commits; a decision that commits nothing may keep the figure shown for the amount asked)."""
    if impact.source != source:
        return "budget_impact.source", f"the figure shown was for a {impact.source} commitment, not {source}"
    if provider_ods and impact.provider_ods[:3].upper() != provider_ods[:3].upper():
        return "budget_impact.provider_ods", f"the figure shown was for {impact.provider_ods}, not {provider_ods}"
    if impact.financial_year != financial_year:
        return "budget_impact.financial_year", f"the figure shown was for {impact.financial_year}, not {financial_year}"
    if amount is not None and impact.amount != amount:
        return (
            "budget_impact.amount",
            f"the figure shown was for £{impact.amount}, the decision commits £{amount}: ask the what-if again",
        )
    return None
