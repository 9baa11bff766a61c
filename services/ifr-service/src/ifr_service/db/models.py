"""IFR tables: requests (cases), their clocks, transitions, documents, notes, letters; panels."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ifr_service.db.base import Base

REFERENCE_SEQUENCE = Sequence("ifr_reference_seq", metadata=Base.metadata)
COHORT_REFERENCE_SEQUENCE = Sequence("ifr_cohort_reference_seq", metadata=Base.metadata)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _case_fk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("ifr_requests.id", ondelete="CASCADE"), index=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _created() -> Mapped[datetime]:
    # set in Python too, so a new row's time is known without a round trip
    return mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class IfrRequest(Base):
    """One Individual Funding Request: the application and where the case is."""

    __tablename__ = "ifr_requests"
    # the worklist by next due date (nothing due sorts last): an index in the order the page reads it
    __table_args__ = (
        Index("ix_ifr_requests_due_order", text("coalesce(next_due, '9999-12-31'::date)"), "id"),
        # the cohort count: one treatment's requests from one region, by the day they were received
        Index("ix_ifr_requests_cohort", "treatment_key", "region", "received_on"),
    )

    id: Mapped[uuid.UUID] = _id()
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_ods: Mapped[str | None] = mapped_column(String(5), index=True)
    # the provider's commissioning region (domain.regions), set from provider_ods on create and submit
    region: Mapped[str | None] = mapped_column(String(3), index=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    patient_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    application: Mapped[dict[str, Any]] = mapped_column(JSONB)
    treatment_name: Mapped[str | None] = mapped_column(String(200), index=True)
    treatment_code: Mapped[str | None] = mapped_column(String(20))
    # domain.cohort.treatment_key: the treatment's code and the indication, as cohorts compare them
    treatment_key: Mapped[str | None] = mapped_column(String(260))
    clinician_email: Mapped[str | None] = mapped_column(String(254))
    assigned_to: Mapped[str | None] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(10), default="rest")
    inbound_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    intake_problems: Mapped[list[str]] = mapped_column(JSONB, default=list)
    received_on: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_due: Mapped[date | None] = mapped_column(Date, index=True)
    current_panel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outcome: Mapped[str | None] = mapped_column(String(30))
    review_outcome: Mapped[str | None] = mapped_column(String(20))
    # set while a chair's action waits for the panel to ratify or overturn it
    ratification_due: Mapped[date | None] = mapped_column(Date, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CaseClock(Base):
    """One stage clock of a case (see domain.clocks)."""

    __tablename__ = "ifr_clocks"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = _case_fk()
    clock: Mapped[str] = mapped_column(String(30))
    started_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date] = mapped_column(Date, index=True)


class DeadlineAlert(Base):
    """An alert raised for a clock; the unique key makes each alert once per clock."""

    __tablename__ = "ifr_deadline_alerts"
    __table_args__ = (UniqueConstraint("clock_id", "alert"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    clock_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_clocks.id", ondelete="CASCADE"))
    alert: Mapped[str] = mapped_column(String(30))
    due_date: Mapped[date] = mapped_column(Date)
    raised_at: Mapped[datetime] = _created()


class Transition(Base):
    """The case's state history: each action taken, by whom, on which day, with what it recorded."""

    __tablename__ = "ifr_transitions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = _case_fk()
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    on: Mapped[date] = mapped_column(Date, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = _created()


class Document(Base):
    __tablename__ = "ifr_documents"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = _case_fk()
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class Note(Base):
    __tablename__ = "ifr_notes"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = _case_fk()
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class Letter(Base):
    """The case's copy of a letter notification-service sent for one of its events."""

    __tablename__ = "ifr_letters"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = _case_fk()
    kind: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # the packaged template and version the wording came from (None: written before templates had versions)
    template: Mapped[str | None] = mapped_column(String(60))
    template_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


class Panel(Base):
    """A panel meeting: an IFR panel, or a review panel that checks the process."""

    __tablename__ = "ifr_panels"

    id: Mapped[uuid.UUID] = _id()
    kind: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(3), index=True)  # the commissioning region it sits for
    meeting_date: Mapped[date] = mapped_column(Date, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class PanelMember(Base):
    __tablename__ = "ifr_panel_members"
    __table_args__ = (UniqueConstraint("panel_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    panel_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_panels.id"), index=True)
    member_id: Mapped[str] = mapped_column(String(200), index=True)  # the member's user id (token `sub`)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    voting: Mapped[bool] = mapped_column(Boolean)


class AgendaItem(Base):
    __tablename__ = "ifr_agenda_items"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    panel_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_panels.id"), index=True)
    request_id: Mapped[uuid.UUID] = _case_fk()
    purpose: Mapped[str] = mapped_column(String(20))  # decision | reconsideration | review
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = _created()


class Conflict(Base):
    """A member's declared conflict of interest on one case: they step out of it."""

    __tablename__ = "ifr_conflicts"
    __table_args__ = (UniqueConstraint("panel_id", "request_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    panel_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_panels.id"), index=True)
    request_id: Mapped[uuid.UUID] = _case_fk()
    member_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = _created()


class Decision(Base):
    """A panel decision (or a review panel's finding), with who was present; or an urgent decision by
    chair's action, with who took it and why it could not wait. The latest decision of any kind but
    `review` is the one that stands; `supersedes_id` names the decision it replaced."""

    __tablename__ = "ifr_decisions"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = _case_fk()
    panel_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_panels.id"))
    kind: Mapped[str] = mapped_column(String(20))  # decision | reconsideration | review | ratification
    basis: Mapped[str] = mapped_column(String(20), default="panel", server_default="panel")  # or chairs_action
    acting_chair: Mapped[str | None] = mapped_column(String(200))  # chair's action: the chair or deputy
    urgent_reason: Mapped[str | None] = mapped_column(Text)  # chair's action: why it could not wait
    ratification_due: Mapped[date | None] = mapped_column(Date)
    ratification: Mapped[str | None] = mapped_column(String(20))  # chair's action: ratified | overturned
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("ifr_decisions.id"))
    outcome: Mapped[str] = mapped_column(String(30))
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONB)
    conditions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    approved_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # the budget what-if shown before the decision (casework.budget_impact.BudgetImpact), as shown
    budget_impact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    present: Mapped[list[str]] = mapped_column(JSONB)
    excluded_for_conflict: Mapped[list[str]] = mapped_column(JSONB, default=list)
    decided_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class CohortAlert(Base):
    """Requests for one treatment from one region that reached the cohort threshold in the window
    (domain.cohort): one row per treatment, region and crossing (the unique key), raised once."""

    __tablename__ = "ifr_cohort_alerts"
    __table_args__ = (UniqueConstraint("treatment_key", "region", "window_start"),)

    id: Mapped[uuid.UUID] = _id()
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    treatment_key: Mapped[str] = mapped_column(String(260))
    region: Mapped[str] = mapped_column(String(3), index=True)
    treatment_name: Mapped[str] = mapped_column(String(200))
    treatment_code: Mapped[str] = mapped_column(String(20))
    indication_code: Mapped[str | None] = mapped_column(String(10))
    indication: Mapped[str | None] = mapped_column(String(200))
    min_requests: Mapped[int] = mapped_column(Integer)
    window_months: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[date] = mapped_column(Date)
    detected_on: Mapped[date] = mapped_column(Date)
    open_until: Mapped[date] = mapped_column(Date, index=True)
    request_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CohortAlertCase(Base):
    """A request counted in a cohort alert: at the crossing, or joined while the alert was open."""

    __tablename__ = "ifr_cohort_alert_cases"
    __table_args__ = (UniqueConstraint("alert_id", "request_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ifr_cohort_alerts.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[uuid.UUID] = _case_fk()
    joined: Mapped[bool] = mapped_column(Boolean)  # False: counted at the crossing
    added_at: Mapped[datetime] = _created()
