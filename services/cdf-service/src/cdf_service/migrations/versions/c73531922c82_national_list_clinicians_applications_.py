"""national list, clinicians, applications, SACT, forecasts

Revision ID: c73531922c82
Revises: 3639b07d732a
Create Date: 2026-11-23 11:16:41.542856
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c73531922c82"
down_revision: str | None = "3639b07d732a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinicians",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("trust_ods", sa.String(length=5), nullable=False),
        sa.Column("gmc_number", sa.String(length=7), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("specialty", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinicians")),
        sa.UniqueConstraint("trust_ods", "gmc_number", name=op.f("uq_clinicians_trust_ods")),
    )
    op.create_index(op.f("ix_clinicians_gmc_number"), "clinicians", ["gmc_number"], unique=False)
    op.create_index(op.f("ix_clinicians_trust_ods"), "clinicians", ["trust_ods"], unique=False)
    op.create_table(
        "forecast_dirty",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_dirty")),
    )
    op.create_table(
        "forecasts",
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("entry_version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("start_rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("actual_to_date", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("active_projection", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("pipeline", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("outturn", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("lower", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("upper", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("run_rate_outturn", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("months", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider_ods", "entry_id", "financial_year", name=op.f("pk_forecasts")),
    )
    op.create_table(
        "list_entry_versions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=False),
        sa.Column(
            "other_dmd_ids", postgresql.ARRAY(sa.String(length=18)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("regimen", sa.Text(), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cost_per_cycle", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cycle_length_days", sa.Integer(), nullable=False),
        sa.Column("expected_cycles", sa.Integer(), nullable=False),
        sa.Column("managed_access_start", sa.Date(), nullable=False),
        sa.Column("managed_access_end", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("lapse_window_days", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_entry_versions")),
        sa.UniqueConstraint("entry_id", "version", name=op.f("uq_list_entry_versions_entry_id")),
    )
    op.create_index(op.f("ix_list_entry_versions_drug_name"), "list_entry_versions", ["drug_name"], unique=False)
    op.create_index(
        "ix_list_entry_versions_effective", "list_entry_versions", ["entry_id", "effective_from"], unique=False
    )
    op.create_table(
        "sact_problems",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sact_problems")),
    )
    op.create_index(op.f("ix_sact_problems_submission_id"), "sact_problems", ["submission_id"], unique=False)
    op.create_table(
        "sact_rows",
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("drug_key", sa.String(length=200), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("regimen_start", sa.Date(), nullable=False),
        sa.Column("cycle_number", sa.SmallInteger(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("administration_date", sa.Date(), nullable=False),
        sa.Column("final_treatment_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=2), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "row_no", name=op.f("pk_sact_rows")),
    )
    op.create_index(
        "ix_sact_rows_listed",
        "sact_rows",
        ["provider_ods", "patient_ref", "drug_key"],
        unique=False,
        postgresql_where=sa.text("listed"),
    )
    op.create_table(
        "sact_submissions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("submission_ref", sa.String(length=100), nullable=False),
        sa.Column("source_format", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("columns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column(
            "matched", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sact_submissions")),
        sa.UniqueConstraint("provider_ods", "period", "submission_ref", name=op.f("uq_sact_submissions_provider_ods")),
    )
    op.create_index(op.f("ix_sact_submissions_provider_ods"), "sact_submissions", ["provider_ods"], unique=False)
    op.create_index(op.f("ix_sact_submissions_status"), "sact_submissions", ["status"], unique=False)
    op.create_table(
        "unapproved_uses",
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("drug_key", sa.String(length=200), nullable=False),
        sa.Column("regimen_start", sa.Date(), nullable=False),
        sa.Column("first_administration", sa.Date(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider_ods", "patient_ref", "drug_key", "regimen_start", name=op.f("pk_unapproved_uses")
        ),
    )
    op.create_table(
        "sact_chunks",
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["sact_submissions.id"], name=op.f("fk_sact_chunks_submission_id_sact_submissions")
        ),
        sa.PrimaryKeyConstraint("submission_id", "seq", name=op.f("pk_sact_chunks")),
    )
    # The wiring-proof applications table is replaced by the real one (nothing was deployed).
    op.drop_index(op.f("ix_applications_provider_ods"), table_name="applications")
    op.drop_index(op.f("ix_applications_patient_ref"), table_name="applications")
    op.drop_table("applications")
    op.create_table(
        "applications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("entry_version", sa.Integer(), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("drug_key", sa.String(length=200), nullable=False),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("clinician_id", sa.UUID(), nullable=False),
        sa.Column("clinician_gmc", sa.String(length=7), nullable=False),
        sa.Column("clinician_email", sa.String(length=254), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("consent_confirmed", sa.Boolean(), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("lapse_window_days", sa.Integer(), nullable=False),
        sa.Column("lapse_due", sa.Date(), nullable=False),
        sa.Column("expected_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cost_per_cycle", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "unmet_criteria",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "reasons", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("first_administration", sa.Date(), nullable=True),
        sa.Column("final_treatment_date", sa.Date(), nullable=True),
        sa.Column("stop_reason", sa.String(length=80), nullable=True),
        sa.Column("cycles_given", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["clinicians.id"], name=op.f("fk_applications_clinician_id_clinicians")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    op.create_index(op.f("ix_applications_provider_ods"), "applications", ["provider_ods"], unique=False)
    op.create_index(op.f("ix_applications_entry_id"), "applications", ["entry_id"], unique=False)
    op.create_index(op.f("ix_applications_status"), "applications", ["status"], unique=False)
    op.create_index(
        "ix_applications_lapse",
        "applications",
        ["lapse_due"],
        unique=False,
        postgresql_where=sa.text("status = 'approved'"),
    )
    op.create_index("ix_applications_list", "applications", ["created_at", "id"], unique=False)
    op.create_index("ix_applications_match", "applications", ["patient_ref", "drug_key"], unique=False)
    op.create_index(
        "uq_applications_live_patient_entry",
        "applications",
        ["patient_ref", "entry_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('approved', 'treatment_started')"),
    )
    op.create_table(
        "treatment_cycles",
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("regimen_start", sa.Date(), nullable=False),
        sa.Column("cycle_number", sa.SmallInteger(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_treatment_cycles_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("application_id", "regimen_start", "cycle_number", name=op.f("pk_treatment_cycles")),
    )
    # Upload pieces are already compact CSV: store them as they are rather than compress each one.
    op.execute("ALTER TABLE sact_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    # Pieces live only until processed: no WAL for them. A database crash empties the table; the
    # submissions caught mid-way then fail and the trust sends the file again.
    op.execute("ALTER TABLE sact_chunks SET UNLOGGED")


def downgrade() -> None:
    for table in (
        "treatment_cycles",
        "sact_chunks",
        "unapproved_uses",
        "sact_submissions",
        "sact_rows",
        "sact_problems",
        "list_entry_versions",
        "forecasts",
        "forecast_dirty",
    ):
        op.drop_table(table)
    op.drop_table("applications")
    op.drop_table("clinicians")
    op.create_table(
        "applications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("indication", sa.String(length=500), nullable=False),
        sa.Column("clinician_gmc", sa.String(length=10), nullable=False),
        sa.Column("clinician_email", sa.String(length=254), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("lapse_due", sa.Date(), nullable=False),
        sa.Column("expected_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    op.create_index(op.f("ix_applications_patient_ref"), "applications", ["patient_ref"], unique=False)
    op.create_index(op.f("ix_applications_provider_ods"), "applications", ["provider_ods"], unique=False)
