"""Cancer Drugs Fund events (topic `cdf.events`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from casework.events.registry import registry


class CdfApplicationRef(BaseModel):
    application_id: UUID
    reference: str
    provider_ods: str
    entry_id: str
    dmd_id: str
    patient_ref: str


@registry.register("cdf.application.approved")
class ApplicationApproved(CdfApplicationRef):
    """A prior-approval application met every mandatory criterion of an open list entry."""

    entry_version: int
    drug_name: str
    indication: str
    clinician_gmc: str
    clinician_email: str
    planned_start: date
    lapse_due: date
    approved_at: datetime
    expected_cost: Decimal


@registry.register("cdf.application.rejected")
class ApplicationRejected(CdfApplicationRef):
    """An application was not approved; the unmet criteria are named."""

    drug_name: str
    clinician_email: str
    unmet_criteria: list[str]
    reasons: list[str]


@registry.register("cdf.application.withdrawn")
class ApplicationWithdrawn(CdfApplicationRef):
    """An approval was withdrawn by the trust before or during treatment."""

    withdrawn_at: datetime
    reason: str


class StopReason(StrEnum):
    """Why a regimen ended, whatever SACT version reported it (v4.0 item 88 End of Regimen Summary, codes
    1-8 in this order; v3.0 files are mapped to the same meanings)."""

    COMPLETED = "completed"  # completed the pre-determined number of cycles
    PROGRESSION = "progression"
    TOXICITY = "toxicity"
    PATIENT_CHOICE = "patient_choice"
    ORGANISATION = "organisation"  # organisation (trust) issues
    MRD_NEGATIVE = "mrd_negative"  # minimal residual disease negativity
    DEATH = "death"
    OTHER = "other"


@registry.register("cdf.treatment.started")
class TreatmentStarted(CdfApplicationRef):
    """SACT shows the first administration of an approved treatment."""

    first_administration: date
    cycles_to_date: int
    dispensed: bool = Field(
        default=False,
        description="the first date is when an oral drug was dispensed (SACT v4.0 item 81): taking it is not confirmed",
    )


@registry.register("cdf.treatment.stopped")
class TreatmentStopped(CdfApplicationRef):
    """SACT reports the end of the regimen: the date of final treatment and every reason given for stopping."""

    final_treatment_date: date
    stop_reason: str  # the reasons in words, "; "-separated ("not stated" when SACT gave none)
    stop_reasons: list[StopReason] = Field(default_factory=list, description="every reason SACT gave, in code order")
    cycles_given: int
    cost_to_date: Decimal


@registry.register("cdf.approval.lapsed")
class ApprovalLapsed(CdfApplicationRef):
    """No SACT administration within the lapse window after the planned start."""

    planned_start: date
    lapse_due: date
    clinician_email: str
    committed_amount: Decimal


@registry.register("cdf.unapproved_use.detected")
class UnapprovedUseDetected(BaseModel):
    """A listed CDF drug was administered with no approval for that patient at that trust."""

    provider_ods: str
    dmd_id: str
    drug_name: str
    patient_ref: str
    first_administration: date
    cycles: int
    submission_id: UUID
    detection_id: UUID | None = Field(
        default=None, description="the detection's record (GET /cdf/unapproved-uses/{id})"
    )
    row_no: int | None = Field(default=None, description="the submission's row of the first administration")
    entry_ids: list[str] = Field(default_factory=list, description="list entries of the drug on that day")


class UnapprovedUseRef(BaseModel):
    """A detected unapproved use as its later events name it (the patient by `patient_ref` only)."""

    detection_id: UUID
    provider_ods: str
    patient_ref: str
    dmd_id: str
    drug_name: str
    first_administration: date
    submission_id: UUID
    status: str


@registry.register("cdf.unapproved_use.answered")
class UnapprovedUseAnswered(UnapprovedUseRef):
    """The trust answered: the approval that covers the use (checked, and linked), or why there is none."""

    approval_reference: str | None
    application_id: UUID | None
    explanation: str | None
    answered_by: str


@registry.register("cdf.unapproved_use.accepted")
class UnapprovedUseAccepted(UnapprovedUseRef):
    """The commissioner accepted the trust's answer."""

    note: str | None
    decided_by: str


@registry.register("cdf.unapproved_use.challenged")
class UnapprovedUseChallenged(UnapprovedUseRef):
    """The commissioner challenged the trust's answer: the use is not funded as it stands."""

    reason: str
    cycles: int
    decided_by: str


@registry.register("cdf.unapproved_use.closed")
class UnapprovedUseClosed(UnapprovedUseRef):
    """The commissioner closed the detection after accepting or challenging it."""

    note: str | None
    closed_by: str


class ForecastMonth(BaseModel):
    month: str  # YYYY-MM
    fy_month: int  # 1 = April .. 12 = March
    actual: Decimal
    forecast: Decimal


@registry.register("cdf.forecast.updated")
class ForecastUpdated(BaseModel):
    """The spend forecast for one trust and list entry in one financial year changed."""

    provider_ods: str
    entry_id: str
    dmd_id: str
    financial_year: str  # "2026/27"
    as_of: date
    actual_to_date: Decimal
    forecast_outturn: Decimal
    lower: Decimal
    upper: Decimal
    run_rate_outturn: Decimal
    months: list[ForecastMonth]


@registry.register("cdf.sact_submission.processed")
class SactSubmissionProcessed(BaseModel):
    """A trust's monthly SACT submission finished processing."""

    submission_id: UUID
    provider_ods: str
    period: str  # YYYY-MM
    rows_total: int
    rows_accepted: int
    rows_rejected: int
