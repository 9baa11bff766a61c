"""contracts, variations, derogations, budget lines, CDF forecasts, drug returns, validation queries

Revision ID: ff849ac81292
Revises: 94aeba70f6d4
Create Date: 2026-11-23 11:11:44.139653
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ff849ac81292"
down_revision: str | None = "94aeba70f6d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cdf_forecasts",
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_to_date", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("forecast_outturn", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("months", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider_ods", "entry_id", "financial_year", name=op.f("pk_cdf_forecasts")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=3), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("contract_lead_email", sa.String(length=254), nullable=True),
        sa.Column("base_terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("provider_ods", "financial_year", name=op.f("uq_contracts_provider_ods")),
    )
    op.create_index(op.f("ix_contracts_provider_ods"), "contracts", ["provider_ods"], unique=False)
    op.create_table(
        "drug_returns",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("submission_id", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("submitted_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("authorised_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("challenged_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("query_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_returns")),
        sa.UniqueConstraint("provider_ods", "period", "submission_id", name=op.f("uq_drug_returns_provider_ods")),
    )
    op.create_index(op.f("ix_drug_returns_provider_ods"), "drug_returns", ["provider_ods"], unique=False)
    op.create_table(
        "validation_queries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("provider_ods", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lines_count", sa.Integer(), nullable=False),
        sa.Column("challenged_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("evidence_text", sa.Text(), nullable=True),
        sa.Column("evidence_reference", sa.String(length=100), nullable=True),
        sa.Column("responded_by", sa.String(length=200), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("funded_adjustment", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_queries")),
        sa.UniqueConstraint("provider_ods", "period", "sequence", name=op.f("uq_validation_queries_provider_ods")),
        sa.UniqueConstraint("reference", name=op.f("uq_validation_queries_reference")),
    )
    op.create_index(op.f("ix_validation_queries_provider_ods"), "validation_queries", ["provider_ods"], unique=False)
    op.create_table(
        "budget_lines",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=3), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("line_name", sa.String(length=200), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("at_risk_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_budget_lines_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_lines")),
        sa.UniqueConstraint(
            "contract_id",
            "kind",
            "dmd_id",
            "category",
            name=op.f("uq_budget_lines_contract_id"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_budget_lines_contract_id"), "budget_lines", ["contract_id"], unique=False)
    op.create_index("ix_budget_lines_provider_fy", "budget_lines", ["provider_ods", "financial_year"], unique=False)
    op.create_table(
        "contract_variations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("agreed_by", sa.String(length=200), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_variations_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_variations")),
        sa.UniqueConstraint("contract_id", "sequence", name=op.f("uq_contract_variations_contract_id")),
    )
    op.create_index(op.f("ix_contract_variations_contract_id"), "contract_variations", ["contract_id"], unique=False)
    op.create_table(
        "derogations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=3), nullable=False),
        sa.Column("service_specification", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("action_plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("history", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_derogations_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derogations")),
    )
    op.create_index(op.f("ix_derogations_contract_id"), "derogations", ["contract_id"], unique=False)
    op.create_index(op.f("ix_derogations_provider_ods"), "derogations", ["provider_ods"], unique=False)
    op.create_table(
        "drug_return_lines",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("return_id", sa.UUID(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("fy_month", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=True),
        sa.Column("indication", sa.String(length=500), nullable=False),
        sa.Column("administered_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("approval_reference", sa.String(length=40), nullable=True),
        sa.Column("authority_id", sa.UUID(), nullable=True),
        sa.Column("funding_source", sa.String(length=10), nullable=False),
        sa.Column("budget_line_id", sa.UUID(), nullable=True),
        sa.Column("funding", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("query_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["budget_line_id"], ["budget_lines.id"], name=op.f("fk_drug_return_lines_budget_line_id_budget_lines")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["validation_queries.id"], name=op.f("fk_drug_return_lines_query_id_validation_queries")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["drug_returns.id"], name=op.f("fk_drug_return_lines_return_id_drug_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_return_lines")),
    )
    op.create_index(op.f("ix_drug_return_lines_budget_line_id"), "drug_return_lines", ["budget_line_id"], unique=False)
    op.create_index(
        "ix_drug_return_lines_provider_fy", "drug_return_lines", ["provider_ods", "financial_year"], unique=False
    )
    op.create_index(op.f("ix_drug_return_lines_query_id"), "drug_return_lines", ["query_id"], unique=False)
    op.create_index(op.f("ix_drug_return_lines_return_id"), "drug_return_lines", ["return_id"], unique=False)
    op.add_column("commitments", sa.Column("entry_id", sa.String(length=40), nullable=True))
    op.add_column("commitments", sa.Column("budget_line_id", sa.UUID(), nullable=True))
    op.add_column(
        "commitments",
        sa.Column("original_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False),
    )
    op.add_column(
        "commitments",
        sa.Column("released_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False),
    )
    op.add_column("commitments", sa.Column("approved", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("commitments", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("commitments", sa.Column("valid_until", sa.Date(), nullable=True))
    op.add_column(
        "commitments",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index(op.f("ix_commitments_budget_line_id"), "commitments", ["budget_line_id"], unique=False)
    op.create_index(op.f("ix_commitments_patient_ref"), "commitments", ["patient_ref"], unique=False)
    op.create_foreign_key(
        op.f("fk_commitments_budget_line_id_budget_lines"), "commitments", "budget_lines", ["budget_line_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_commitments_budget_line_id_budget_lines"), "commitments", type_="foreignkey")
    op.drop_index(op.f("ix_commitments_patient_ref"), table_name="commitments")
    op.drop_index(op.f("ix_commitments_budget_line_id"), table_name="commitments")
    op.drop_column("commitments", "updated_at")
    op.drop_column("commitments", "valid_until")
    op.drop_column("commitments", "valid_from")
    op.drop_column("commitments", "approved")
    op.drop_column("commitments", "released_amount")
    op.drop_column("commitments", "original_amount")
    op.drop_column("commitments", "budget_line_id")
    op.drop_column("commitments", "entry_id")
    op.drop_index(op.f("ix_drug_return_lines_return_id"), table_name="drug_return_lines")
    op.drop_index(op.f("ix_drug_return_lines_query_id"), table_name="drug_return_lines")
    op.drop_index("ix_drug_return_lines_provider_fy", table_name="drug_return_lines")
    op.drop_index(op.f("ix_drug_return_lines_budget_line_id"), table_name="drug_return_lines")
    op.drop_table("drug_return_lines")
    op.drop_index(op.f("ix_derogations_provider_ods"), table_name="derogations")
    op.drop_index(op.f("ix_derogations_contract_id"), table_name="derogations")
    op.drop_table("derogations")
    op.drop_index(op.f("ix_contract_variations_contract_id"), table_name="contract_variations")
    op.drop_table("contract_variations")
    op.drop_index("ix_budget_lines_provider_fy", table_name="budget_lines")
    op.drop_index(op.f("ix_budget_lines_contract_id"), table_name="budget_lines")
    op.drop_table("budget_lines")
    op.drop_index(op.f("ix_validation_queries_provider_ods"), table_name="validation_queries")
    op.drop_table("validation_queries")
    op.drop_index(op.f("ix_drug_returns_provider_ods"), table_name="drug_returns")
    op.drop_table("drug_returns")
    op.drop_index(op.f("ix_contracts_provider_ods"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_table("cdf_forecasts")
