"""Contract and finance events (topic `contract.events`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from casework.events.registry import registry


@registry.register("contract.commitment.recorded")
class CommitmentRecorded(BaseModel):
    """A CDF approval or IFR decision became a funded commitment on a budget line; or a superseding
    IFR decision raised it or funded it again after a decline (same `commitment_id`, `amount` is the
    commitment now, `previous_amount` what was committed just before: 0 after a decline)."""

    commitment_id: UUID
    provider_ods: str
    financial_year: str
    budget_line_id: UUID | None
    source: str  # cdf | ifr
    source_reference: str
    patient_ref: str
    amount: Decimal
    previous_amount: Decimal | None = None  # None: a new commitment


@registry.register("contract.budget.at_risk")
class BudgetAtRisk(BaseModel):
    """Forecast outturn crossed the budget by more than the configured margin."""

    provider_ods: str
    financial_year: str
    budget_line_id: UUID
    line_name: str
    budget: Decimal
    forecast_outturn: Decimal
    variance: Decimal
    margin_pct: Decimal
    contract_lead_email: str | None = None


@registry.register("contract.validation_query.raised")
class ValidationQueryRaised(BaseModel):
    """Spend without authority in a provider's monthly drug return is challenged."""

    query_id: UUID
    reference: str
    provider_ods: str
    period: str  # YYYY-MM
    lines_count: int
    challenged_value: Decimal
    respond_by: date
    revision: int = 1  # > 1 when a later submission for the same month added lines to the open query
    detection_id: UUID | None = Field(
        default=None, description="set when the CDF's challenge of an unapproved use raised it (its detection)"
    )


@registry.register("contract.validation_query.resolved")
class ValidationQueryResolved(BaseModel):
    """A validation query was accepted by the provider or settled after dispute."""

    query_id: UUID
    reference: str
    provider_ods: str
    period: str
    outcome: str
    funded_adjustment: Decimal


@registry.register("contract.variation.agreed")
class VariationAgreed(BaseModel):
    """An effective-dated change to a live contract was agreed."""

    contract_id: UUID
    provider_ods: str
    financial_year: str
    variation_id: UUID
    sequence: int
    effective_date: date
    summary: str


@registry.register("contract.commitment.released")
class CommitmentReleased(BaseModel):
    """What a lapsed, withdrawn, stopped or declined approval did not spend went back to its budget line;
    or a superseding IFR decision approved less (`reduced`)."""

    commitment_id: UUID
    provider_ods: str
    financial_year: str
    budget_line_id: UUID | None
    source: str  # cdf | ifr
    source_reference: str
    reason: str  # lapsed | withdrawn | stopped | declined | reduced
    released_amount: Decimal
    remaining_amount: Decimal
