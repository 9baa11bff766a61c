"""Individual Funding Request events (topic `ifr.events`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel

from casework.events.registry import registry


class IfrCaseEvent(BaseModel):
    request_id: UUID
    reference: str
    provider_ods: str
    state: str
    urgent: bool
    clinician_email: str | None = None


@registry.register("ifr.request.submitted")
class RequestSubmitted(IfrCaseEvent):
    """A complete application was submitted."""

    patient_ref: str
    treatment_name: str
    treatment_code: str | None
    submitted_at: datetime


@registry.register("ifr.request.acknowledged")
class RequestAcknowledged(IfrCaseEvent):
    """Receipt acknowledged to the requesting clinician."""

    screening_due: date | None = None


@registry.register("ifr.request.information_requested")
class InformationRequested(IfrCaseEvent):
    """The case was returned to the clinician for information; its clocks pause."""

    information_needed: str
    respond_by: date | None = None


@registry.register("ifr.request.resubmitted")
class InformationProvided(IfrCaseEvent):
    """The clinician provided the information asked for; clocks resume."""


@registry.register("ifr.request.redirected")
class RequestRedirected(IfrCaseEvent):
    """Not an IFR: a cohort / service development question, or not NHS England's responsibility."""

    redirect_reason: str
    redirected_to: str | None = None


@registry.register("ifr.request.service_development")
class RequestRedirectedAsServiceDevelopment(IfrCaseEvent):
    """One of a cohort: requests for the same treatment from the region's trusts reached the cohort
    threshold (an open cohort alert), so the request goes to the region's policy process as a service
    development request, not to an IFR panel."""

    alert_id: UUID
    alert_reference: str
    region: str
    region_name: str
    cohort_requests: int  # the alert's requests when it was redirected
    window_months: int
    explanation: str | None = None  # the case officer's words to the clinician


@registry.register("ifr.request.screened_out")
class RequestScreenedOut(IfrCaseEvent):
    """Screening found the request cannot go to panel."""

    reasons: list[str]


@registry.register("ifr.request.listed_for_panel")
class RequestListedForPanel(IfrCaseEvent):
    """The case is on a panel meeting's agenda."""

    panel_id: UUID
    meeting_date: date


@registry.register("ifr.request.withdrawn")
class RequestWithdrawn(IfrCaseEvent):
    """Withdrawn before a decision."""

    reason: str


class DecisionReasons(BaseModel):
    exceptionality: str
    clinical_effectiveness: str
    value_for_money: str


@registry.register("ifr.decision.made")
class DecisionMade(IfrCaseEvent):
    """The panel decided (approved, approved with conditions, declined) with reasons on each test; or,
    for an urgent request, the chair decided by chair's action (`basis` "chairs_action", in effect at
    once, to be ratified by `ratification_due`).

    A request can be decided more than once (a chair's action overturned at ratification, a
    reconsideration, a decision after a flawed review): each later decision has a higher
    `decision_number` and names in `supersedes` the decision it replaces. Consumers replace the earlier
    decision's effect (one commitment per request), never add to it, and ignore a decision whose number
    is lower than one already applied."""

    outcome: str
    reasons: DecisionReasons
    conditions: list[str]
    panel_id: UUID | None
    patient_ref: str
    treatment_name: str
    treatment_code: str | None
    approved_cost: Decimal | None
    decided_on: date
    decision_id: UUID | None = None
    decision_number: int | None = None  # 1, 2, ... on this request: the highest is the one that stands
    basis: str = "panel"  # panel | chairs_action
    supersedes: UUID | None = None  # the decision this one replaces
    ratification_due: date | None = None  # chair's action: when the panel must have ratified it


@registry.register("ifr.decision.ratified")
class DecisionRatified(IfrCaseEvent):
    """A quorate panel ratified a chair's action: the decision (already in effect) stands unchanged.
    (An overturned chair's action is a new `ifr.decision.made` that supersedes it.)"""

    decision_id: UUID
    outcome: str
    panel_id: UUID
    ratified_on: date


@registry.register("ifr.request.reconsideration_requested")
class ReconsiderationRequested(IfrCaseEvent):
    """Significant new clinical information: the same panel looks again."""

    new_information: str


@registry.register("ifr.request.review_requested")
class ReviewRequested(IfrCaseEvent):
    """A procedural challenge, heard by a different panel."""

    grounds: str


@registry.register("ifr.request.review_decided")
class ReviewDecided(IfrCaseEvent):
    """The review panel found the process sound (upheld) or flawed (back to an IFR panel)."""

    outcome: str
    reasons: str


class DeadlineEvent(IfrCaseEvent):
    clock: str
    due_date: date


@registry.register("ifr.request.deadline_approaching")
class DeadlineApproaching(DeadlineEvent):
    """A stage clock is within its warning period."""


@registry.register("ifr.request.deadline_breached")
class DeadlineBreached(DeadlineEvent):
    """A stage clock passed its due date with the stage incomplete."""


class CohortCase(BaseModel):
    """A request in a cohort alert: by reference, with its outcome so far (no patient identifiers)."""

    request_id: UUID
    reference: str
    provider_ods: str
    received_on: date
    state: str
    outcome: str | None = None  # the decision that stands, once there is one


class CohortEvent(BaseModel):
    """Requests for one treatment (and indication) from one region's trusts: a group of patients, a
    question for the region's policy team (a service development), not for IFR panels one by one."""

    alert_id: UUID
    reference: str  # the alert's (COHORT-2026-0001)
    region: str  # the commissioning region's ODS code (Y56 ... Y63)
    region_name: str
    treatment_key: str  # ifr-service's domain/cohort.py treatment_key: what "the same treatment" means
    treatment_name: str
    treatment_code: str  # the dm+d or OPCS-4 code
    indication_code: str | None  # ICD-10
    indication: str | None  # the diagnosis as the crossing request names it
    min_requests: int  # the threshold the count reached
    window_months: int
    window_start: date  # the first request's received date
    detected_on: date  # the day the count reached the threshold
    open_until: date  # the day the count would fall below the threshold with no more requests
    request_count: int
    cases: list[CohortCase]
    trusts: list[str]


@registry.register("ifr.cohort.detected")
class CohortDetected(CohortEvent):
    """Requests for one treatment in one region reached the cohort threshold within the window: once per
    treatment, region and crossing (a later request joins the open alert: `ifr.cohort.updated`)."""


@registry.register("ifr.cohort.updated")
class CohortUpdated(CohortEvent):
    """Another request for the treatment joined an open cohort alert (never a second detection)."""

    added: list[str]  # the references of the requests that joined
