"""Response shapes of the IFR API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from ifr_service.db.models import CaseClock, CohortAlert, IfrRequest
from ifr_service.domain.case import STAGE_OF, CaseState, allowed_actions
from ifr_service.domain.clocks import TEAM_CLOCKS, projected_due, status, timeliness
from ifr_service.domain.regions import region_name


class ClockOut(BaseModel):
    clock: str
    started_on: date
    working_days: int
    paused_days: int
    due_date: date
    status: str
    stopped_on: date | None
    overdue: bool
    timeliness: str  # on_time, due_soon, overdue, paused, met, missed, cancelled


class CaseSummaryOut(BaseModel):
    """A worklist row: no patient identifiers."""

    id: uuid.UUID
    reference: str
    state: str
    stage: str
    urgent: bool
    provider_ods: str | None
    region: str | None = Field(description="The provider trust's commissioning region (Y56 London ... Y63)")
    treatment_name: str | None
    assigned_to: str | None
    source: str
    received_on: date | None
    next_due: date | None
    overdue: bool
    outcome: str | None
    ratification_due: date | None
    version: int
    created_at: datetime


class CohortAlertRef(BaseModel):
    """The open cohort alert a case's treatment matches in its region (on the case, for staff)."""

    id: uuid.UUID
    reference: str
    region: str
    region_name: str
    treatment_name: str
    request_count: int
    open_until: date


class CaseOut(CaseSummaryOut):
    """The whole case: the application (patient data: every read is audited), its clocks and what may
    be done next."""

    application: dict[str, Any]
    inbound_id: uuid.UUID | None
    intake_problems: list[str]
    submitted_at: datetime | None
    current_panel_id: uuid.UUID | None
    review_outcome: str | None
    clocks: list[ClockOut]
    budget_impact: dict[str, Any] | None = Field(
        None, description="The budget what-if shown before the decision that stands, kept with it as shown"
    )
    allowed_actions: list[str]
    your_actions: list[str] = Field(
        default_factory=list, description="Of allowed_actions, those the caller's roles may take"
    )
    open_cohort_alert: CohortAlertRef | None = Field(
        None,
        description="For staff: the open cohort alert for this treatment in the case's region (GET /ifr/cohort-alerts/"
        "{id}); while there is one a case officer may redirect-service-development",
    )


def alert_ref(alert: CohortAlert) -> CohortAlertRef:
    return CohortAlertRef(
        id=alert.id,
        reference=alert.reference,
        region=alert.region,
        region_name=region_name(alert.region),
        treatment_name=alert.treatment_name,
        request_count=alert.request_count,
        open_until=alert.open_until,
    )


def clock_out(c: CaseClock, on: date, warning_days: int) -> ClockOut:
    due = projected_due(c, on)
    state = status(c)
    return ClockOut(
        clock=c.clock,
        started_on=c.started_on,
        working_days=c.days,
        paused_days=c.paused_days,
        due_date=due,
        status=state,
        stopped_on=c.stopped_on,
        overdue=state == "running" and c.clock in TEAM_CLOCKS and due < on,
        timeliness=timeliness(c, on, warning_days),
    )


def summary_fields(case: IfrRequest, on: date) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "state": case.state,
        "stage": STAGE_OF[CaseState(case.state)],
        "urgent": case.urgent,
        "provider_ods": case.provider_ods,
        "region": case.region,
        "treatment_name": case.treatment_name,
        "assigned_to": case.assigned_to,
        "source": case.source,
        "received_on": case.received_on,
        "next_due": case.next_due,
        "overdue": case.next_due is not None and case.next_due < on,
        "outcome": case.outcome,
        "ratification_due": case.ratification_due,
        "version": case.version,
        "created_at": case.created_at,
    }


def summary_out(case: IfrRequest, on: date) -> CaseSummaryOut:
    return CaseSummaryOut(**summary_fields(case, on))


def case_out(
    case: IfrRequest,
    clocks: list[CaseClock],
    on: date,
    warning_days: int,
    budget_impact: dict[str, Any] | None = None,
    in_cohort: bool = False,
) -> CaseOut:
    return CaseOut(
        budget_impact=budget_impact,
        **summary_fields(case, on),
        application=case.application,
        inbound_id=case.inbound_id,
        intake_problems=case.intake_problems,
        submitted_at=case.submitted_at,
        current_panel_id=case.current_panel_id,
        review_outcome=case.review_outcome,
        clocks=[clock_out(c, on, warning_days) for c in clocks],
        allowed_actions=allowed_actions(case.state, case.urgent, case.review_outcome, in_cohort),
    )
