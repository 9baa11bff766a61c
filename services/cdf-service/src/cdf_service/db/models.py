"""CDF tables: the national list, clinicians, applications, SACT submissions, treatments, forecasts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from cdf_service.db.base import Base


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


# --- National list ---------------------------------------------------------------------------------


class ListEntryVersion(Base):
    """One version of a national CDF list entry; [effective_from, effective_to) never overlap."""

    __tablename__ = "list_entry_versions"
    __table_args__ = (
        UniqueConstraint("entry_id", "version"),
        Index("ix_list_entry_versions_effective", "entry_id", "effective_from"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    entry_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    drug_name: Mapped[str] = mapped_column(String(200), index=True)
    dmd_id: Mapped[str] = mapped_column(String(18))
    other_dmd_ids: Mapped[list[str]] = mapped_column(ARRAY(String(18)), server_default=text("'{}'"))
    indication: Mapped[str] = mapped_column(Text)
    regimen: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    cost_per_cycle: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    cycle_length_days: Mapped[int] = mapped_column(Integer)
    expected_cycles: Mapped[int] = mapped_column(Integer)
    managed_access_start: Mapped[date] = mapped_column(Date)
    managed_access_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    lapse_window_days: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    change_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created_at()


# --- Clinicians ------------------------------------------------------------------------------------


class Clinician(Base):
    """A consultant registered to apply to the CDF for one trust; the trust's CDF lead confirms."""

    __tablename__ = "clinicians"
    __table_args__ = (UniqueConstraint("trust_ods", "gmc_number"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    trust_ods: Mapped[str] = mapped_column(String(5), index=True)
    gmc_number: Mapped[str] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    specialty: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))
    registered_by: Mapped[str] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}  # type: ignore[misc]  # SQLAlchemy types it an instance variable; ruff (RUF012) wants a ClassVar


# --- Applications ----------------------------------------------------------------------------------


class Application(Base):
    """A prior-approval application, decided at once against the list entry version in force."""

    __tablename__ = "applications"
    __table_args__ = (
        # At most one live approval per patient and entry: the database settles racing duplicates.
        Index(
            "uq_applications_live_patient_entry",
            "patient_ref",
            "entry_id",
            unique=True,
            postgresql_where=text("status IN ('approved', 'treatment_started')"),
        ),
        Index("ix_applications_match", "patient_ref", "drug_key"),
        Index("ix_applications_lapse", "lapse_due", postgresql_where=text("status = 'approved'")),
        Index("ix_applications_list", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    patient_ref: Mapped[str] = mapped_column(String(64))
    nhs_number: Mapped[str] = mapped_column(String(10))
    date_of_birth: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[str] = mapped_column(String(40), index=True)
    entry_version: Mapped[int] = mapped_column(Integer)
    dmd_id: Mapped[str] = mapped_column(String(18))
    drug_name: Mapped[str] = mapped_column(String(200))
    drug_key: Mapped[str] = mapped_column(String(200))  # canonical drug name SACT rows are matched on
    indication: Mapped[str] = mapped_column(Text)
    clinician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinicians.id"))
    clinician_gmc: Mapped[str] = mapped_column(String(7))
    clinician_email: Mapped[str] = mapped_column(String(254))
    answers: Mapped[dict[str, bool]] = mapped_column(JSONB)
    consent_confirmed: Mapped[bool] = mapped_column(Boolean)
    planned_start: Mapped[date] = mapped_column(Date)
    lapse_window_days: Mapped[int] = mapped_column(Integer)
    lapse_due: Mapped[date] = mapped_column(Date)
    expected_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    cost_per_cycle: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # the budget what-if shown before applying (casework.budget_impact.BudgetImpact), as shown
    budget_impact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), index=True)
    unmet_criteria: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    reasons: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    first_administration: Mapped[date | None] = mapped_column(Date)
    final_treatment_date: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(Text)  # the reasons in words (domain.stop_reasons)
    stop_reasons: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # StopReason values, in code order
    cycles_given: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # lapsed / withdrawn
    close_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created_at()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}  # type: ignore[misc]  # SQLAlchemy types it an instance variable; ruff (RUF012) wants a ClassVar


class TreatmentCycle(Base):
    """A SACT cycle matched to an approval: the cycle count and the actual spend come from here."""

    __tablename__ = "treatment_cycles"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    regimen_start: Mapped[date] = mapped_column(Date, primary_key=True)
    cycle_number: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cycle_start: Mapped[date] = mapped_column(Date)
    # the day it was given (a pack of an oral drug: dispensed, for all its cycles): the month it costs
    given_on: Mapped[date] = mapped_column(Date)
    cycle_length_days: Mapped[int | None] = mapped_column(SmallInteger)  # as SACT v4.0 item 82 gave it
    dispensed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class UnapprovedUse(Base):
    """A listed drug given with no approval: one row (and one event) per patient, drug and regimen,
    followed up as a case (domain.unapproved_use: open, answered, accepted or challenged, closed)."""

    __tablename__ = "unapproved_uses"
    __table_args__ = (Index("ix_unapproved_uses_list", "created_at", "id"),)

    provider_ods: Mapped[str] = mapped_column(String(5), primary_key=True)
    patient_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    drug_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    regimen_start: Mapped[date] = mapped_column(Date, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, server_default=text("gen_random_uuid()"))
    first_administration: Mapped[date] = mapped_column(Date)
    cycles: Mapped[int] = mapped_column(Integer)
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    row_no: Mapped[int | None] = mapped_column(Integer)  # the submission's row of the first administration
    nhs_number: Mapped[str | None] = mapped_column(String(10))  # None: detected before rows kept it
    drug_name: Mapped[str | None] = mapped_column(String(200))
    dmd_id: Mapped[str | None] = mapped_column(String(18))
    entry_ids: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(String(12), server_default=text("'open'"), index=True)
    approval_reference: Mapped[str | None] = mapped_column(String(30))
    application_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    explanation: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)  # the acceptance's note or the challenge's reason
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}  # type: ignore[misc]  # SQLAlchemy types it an instance variable; ruff (RUF012) wants a ClassVar


# --- SACT submissions ------------------------------------------------------------------------------


class SactSubmission(Base):
    """One monthly SACT submission of a trust; its progress and counts are updated per chunk."""

    __tablename__ = "sact_submissions"
    __table_args__ = (UniqueConstraint("provider_ods", "period", "submission_ref"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    submission_ref: Mapped[str] = mapped_column(String(100))
    source_format: Mapped[str] = mapped_column(String(10))  # csv | json
    status: Mapped[str] = mapped_column(String(12), index=True)
    # False while the file is still arriving; a worker may already be processing its first pieces.
    upload_complete: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    columns: Mapped[list[str]] = mapped_column(ARRAY(Text))
    sact_version: Mapped[int | None] = mapped_column(SmallInteger)  # 3 or 4 (None: stored before versions)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The worker's claim: a new token at every claim (a takeover included); every write of the worker
    # names it, so a worker that lost the submission to another writes nothing more (sact.worker).
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # host and pid of the claiming process
    # W3C traceparent/tracestate of the upload: the worker's processing continues that trace
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)


class SactChunk(Base):
    """The uploaded file in pieces cut at record boundaries, kept until its rows are processed."""

    __tablename__ = "sact_chunks"

    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sact_submissions.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)


class SactRow(Base):
    """An accepted SACT drug administration (the fields matching and forecasting use)."""

    __tablename__ = "sact_rows"
    __table_args__ = (
        Index(
            "ix_sact_rows_listed",
            "provider_ods",
            "patient_ref",
            "drug_key",
            postgresql_where=text("listed"),
        ),
        # No primary key index: a million rows a file are COPYed in, and a B-tree on (submission, row)
        # cost about a third of the COPY. A submission's rows arrive together, so a BRIN index (a few
        # pages) finds them; (submission_id, row_no) is unique by construction (rows are numbered in
        # file order, each piece written once in its own transaction).
        Index("ix_sact_rows_submission", "submission_id", postgresql_using="brin"),
    )
    __mapper_args__: ClassVar[dict[str, Any]] = {"primary_key": ["submission_id", "row_no"]}  # type: ignore[misc]  # as above

    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    row_no: Mapped[int] = mapped_column(Integer)
    provider_ods: Mapped[str] = mapped_column(String(5))
    patient_ref: Mapped[str] = mapped_column(String(64))
    drug_key: Mapped[str] = mapped_column(String(200))
    listed: Mapped[bool] = mapped_column(Boolean)
    regimen_start: Mapped[date] = mapped_column(Date)
    cycle_number: Mapped[int] = mapped_column(SmallInteger)
    cycle_start: Mapped[date] = mapped_column(Date)
    administration_date: Mapped[date] = mapped_column(Date)  # administered, or dispensed (oral)
    final_treatment_date: Mapped[date | None] = mapped_column(Date)
    stop_reasons: Mapped[int | None] = mapped_column(SmallInteger)  # domain.stop_reasons mask
    cycles: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))  # cycles the row covers
    cycle_length_days: Mapped[int | None] = mapped_column(SmallInteger)
    dispensed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # A checksum of the fields that make two rows one administration (domain.sact_rows.duplicate_key):
    # duplicates are looked for among rows with equal checksums only, then compared in full.
    duplicate_key: Mapped[int | None] = mapped_column(BigInteger)
    # listed drugs only: an unapproved use names the patient to the trust (and only to it)
    nhs_number: Mapped[str | None] = mapped_column(String(10))


class SactProblem(Base):
    """One reason one row was rejected (a row may have several)."""

    __tablename__ = "sact_problems"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(120))  # an item header (v4.0's longest is 81) or a parameter name
    reason: Mapped[str] = mapped_column(Text)


# --- Forecasts -------------------------------------------------------------------------------------


class Forecast(Base):
    """The latest spend forecast of one trust x entry x financial year."""

    __tablename__ = "forecasts"

    provider_ods: Mapped[str] = mapped_column(String(5), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    financial_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    entry_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(20))
    start_rate: Mapped[float] = mapped_column(Numeric(6, 4))
    actual_to_date: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    active_projection: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    pipeline: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    new_approvals: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default=text("0"))
    sact_to: Mapped[date | None] = mapped_column(Date)  # the last day the trust's SACT covered
    outturn: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    lower: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    upper: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    run_rate_outturn: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    months: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ForecastDirty(Base):
    """A trust x entry whose approvals or treatments changed: the forecaster recomputes it.

    Append-only (no upsert): writers never wait on each other, and a change committed while the
    forecaster works leaves its own row for the next round, so no change is missed.
    """

    __tablename__ = "forecast_dirty"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    provider_ods: Mapped[str] = mapped_column(String(5))
    entry_id: Mapped[str] = mapped_column(String(40))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ForecastBacktest(Base):
    """One run of the forecast backtest (`python -m cdf_service.backtest --store`): its figures, the data
    it ran on, and the band calibration it fitted (the forecaster uses the latest)."""

    __tablename__ = "forecast_backtests"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seconds: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)  # what it ran on (generator, seed, counts, fingerprint)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the --json result: months, years, pairs
    calibration: Mapped[dict[str, Any]] = mapped_column(JSONB)  # months of SACT known -> [low, high]
