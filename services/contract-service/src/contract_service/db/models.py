"""Contract tables. The raw NHS number of a drug-return line lives here and nowhere else."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from contract_service.db.base import Base

Id = Mapped[uuid.UUID]
MONEY = Numeric(14, 2)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Versioned:
    """Optimistic concurrency: UPDATE ... WHERE version = n (ETag / If-Match on the API)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]  # declared_attr gives the mapped class


class Contract(Versioned, Base):
    """One NHS Standard Contract per provider (trust) per financial year: the base terms."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("provider_ods", "financial_year"),)

    id: Id = _id()
    provider_ods: Mapped[str] = mapped_column(String(3), index=True)
    financial_year: Mapped[str] = mapped_column(String(7))
    title: Mapped[str] = mapped_column(String(200))
    contract_lead_email: Mapped[str | None] = mapped_column(String(254))
    base_terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ContractVariation(Base):
    """An agreed, effective-dated change; never edited once agreed."""

    __tablename__ = "contract_variations"
    __table_args__ = (UniqueConstraint("contract_id", "sequence"),)

    id: Id = _id()
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    effective_date: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    agreed_by: Mapped[str] = mapped_column(String(200))
    agreed_at: Mapped[datetime] = _created()


class Derogation(Versioned, Base):
    __tablename__ = "derogations"

    id: Id = _id()
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    provider_ods: Mapped[str] = mapped_column(String(3), index=True)
    service_specification: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    action_plan: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class BudgetLine(Versioned, Base):
    """An excluded drugs / devices budget of a provider for a year, for one drug or a category."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        UniqueConstraint("contract_id", "kind", "dmd_id", "category", postgresql_nulls_not_distinct=True),
        Index("ix_budget_lines_provider_fy", "provider_ods", "financial_year"),
    )

    id: Id = _id()
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    provider_ods: Mapped[str] = mapped_column(String(3))
    financial_year: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(20))
    dmd_id: Mapped[str | None] = mapped_column(String(18))
    category: Mapped[str | None] = mapped_column(String(100))
    line_name: Mapped[str] = mapped_column(String(200))
    budget: Mapped[Decimal] = mapped_column(MONEY)
    # The at-risk state persists so the alert fires once per crossing.
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


class BudgetAlert(Base):
    """A budget line's crossing into risk, as contract.budget.at_risk announced it: kept so finance can
    see when each alert was raised (the event itself is gone from the bus once read), and cleared when
    the forecast falls back to or below the margin."""

    __tablename__ = "budget_alerts"
    __table_args__ = (Index("ix_budget_alerts_provider_fy", "provider_ods", "financial_year", "raised_at"),)

    id: Id = _id()
    budget_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budget_lines.id"), index=True)
    provider_ods: Mapped[str] = mapped_column(String(3))
    financial_year: Mapped[str] = mapped_column(String(7))
    line_name: Mapped[str] = mapped_column(String(200))
    budget: Mapped[Decimal] = mapped_column(MONEY)
    forecast_outturn: Mapped[Decimal] = mapped_column(MONEY)
    variance: Mapped[Decimal] = mapped_column(MONEY)
    margin_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    raised_at: Mapped[datetime] = _created()
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Commitment(Base):
    """Money committed on a provider's excluded-drugs budget by a CDF approval or IFR decision.

    It is also the approval (authority) drug-return lines are reconciled against.
    """

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("source", "source_reference"),)

    id: Id = _id()
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    financial_year: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(10))
    source_reference: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    patient_ref: Mapped[str] = mapped_column(String(64), index=True)
    dmd_id: Mapped[str | None] = mapped_column(String(18))
    entry_id: Mapped[str | None] = mapped_column(String(40))
    budget_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("budget_lines.id"), index=True)
    original_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0), server_default="0")
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    released_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0), server_default="0")
    status: Mapped[str] = mapped_column(String(20), default="committed")
    approved: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )  # False: known only from its release so far
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # IFR: the decision the commitment now rests on (a chair's action until ratified or overturned).
    decision_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decision_number: Mapped[int | None] = mapped_column(Integer)
    decision_basis: Mapped[str | None] = mapped_column(String(20))
    ratification_due: Mapped[date | None] = mapped_column(Date)
    ratified_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class IfrDecisionState(Base):
    """Per IFR request, the decision last applied here, whether or not it funded anything.

    A declined request has no commitment, yet a late approval it superseded must still be known to
    be stale: the highest applied `decision_number` lives here. A ratification that arrives before
    its decision waits here too.
    """

    __tablename__ = "ifr_decision_states"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    decision_number: Mapped[int | None] = mapped_column(Integer)  # None: only unnumbered decisions so far
    decision_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outcome: Mapped[str | None] = mapped_column(String(40))
    basis: Mapped[str | None] = mapped_column(String(20))
    decided_on: Mapped[date | None] = mapped_column(Date)
    ratified_decision_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ratified_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CdfForecast(Base):
    """The latest CDF forecast per provider x list entry x financial year."""

    __tablename__ = "cdf_forecasts"

    provider_ods: Mapped[str] = mapped_column(String(5), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    financial_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    dmd_id: Mapped[str] = mapped_column(String(18))
    as_of: Mapped[date] = mapped_column(Date)
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actual_to_date: Mapped[Decimal] = mapped_column(MONEY)
    forecast_outturn: Mapped[Decimal] = mapped_column(MONEY)
    months: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class DrugReturn(Base):
    """One submission of a provider's monthly high-cost drug expenditure return."""

    __tablename__ = "drug_returns"
    __table_args__ = (UniqueConstraint("provider_ods", "period", "submission_id"),)

    id: Id = _id()
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    period: Mapped[str] = mapped_column(String(7))
    financial_year: Mapped[str] = mapped_column(String(7))
    submission_id: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    submitted_value: Mapped[Decimal] = mapped_column(MONEY)
    authorised_value: Mapped[Decimal] = mapped_column(MONEY)
    challenged_value: Mapped[Decimal] = mapped_column(MONEY)
    query_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class DrugReturnLine(Base):
    __tablename__ = "drug_return_lines"
    __table_args__ = (Index("ix_drug_return_lines_provider_fy", "provider_ods", "financial_year"),)

    id: Id = _id()
    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("drug_returns.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    provider_ods: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    financial_year: Mapped[str] = mapped_column(String(7))
    fy_month: Mapped[int] = mapped_column(Integer)
    nhs_number: Mapped[str] = mapped_column(String(10))  # patient-level: only in this service's database
    patient_ref: Mapped[str] = mapped_column(String(64))
    dmd_id: Mapped[str] = mapped_column(String(18))
    drug_name: Mapped[str | None] = mapped_column(String(200))
    indication: Mapped[str] = mapped_column(String(500))
    administered_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    approval_reference: Mapped[str | None] = mapped_column(String(40))
    authority_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the commitment that covers it
    funding_source: Mapped[str] = mapped_column(String(10))
    budget_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("budget_lines.id"), index=True)
    funding: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    query_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("validation_queries.id"), index=True)


class ValidationQuery(Versioned, Base):
    """The unauthorised spend of one provider in one month, challenged."""

    __tablename__ = "validation_queries"
    __table_args__ = (UniqueConstraint("provider_ods", "period", "sequence"),)

    id: Id = _id()
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    provider_ods: Mapped[str] = mapped_column(String(3), index=True)
    period: Mapped[str] = mapped_column(String(7))
    financial_year: Mapped[str] = mapped_column(String(7))
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    lines_count: Mapped[int] = mapped_column(Integer)
    challenged_value: Mapped[Decimal] = mapped_column(MONEY)
    respond_by: Mapped[date] = mapped_column(Date)
    raised_at: Mapped[datetime] = _created()
    evidence_text: Mapped[str | None] = mapped_column(Text)
    evidence_reference: Mapped[str | None] = mapped_column(String(100))
    responded_by: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    funded_adjustment: Mapped[Decimal | None] = mapped_column(MONEY)
    source: Mapped[str] = mapped_column(String(30), server_default=text("'drug_return'"))
    # set when the CDF's challenge of an unapproved use raised it: one query per detection
    detection_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    subject: Mapped[str | None] = mapped_column(Text)


class EvidenceDocument(Base):
    """A document the provider attaches to a validation query as evidence (a Blueteq form, a letter)."""

    __tablename__ = "validation_query_documents"

    id: Id = _id()
    query_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("validation_queries.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only for a download
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
