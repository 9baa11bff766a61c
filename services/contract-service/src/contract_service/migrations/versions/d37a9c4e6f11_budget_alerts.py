"""budget alerts: each crossing of a budget line into risk, with when it was raised and cleared

Revision ID: d37a9c4e6f11
Revises: d37a9c4e6f04
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d37a9c4e6f11"
down_revision: str | None = "d37a9c4e6f04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("budget_line_id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=3), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("line_name", sa.String(length=200), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("forecast_outturn", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("variance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("margin_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["budget_line_id"], ["budget_lines.id"], name=op.f("fk_budget_alerts_budget_line_id_budget_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_alerts")),
    )
    op.create_index(op.f("ix_budget_alerts_budget_line_id"), "budget_alerts", ["budget_line_id"], unique=False)
    op.create_index(
        "ix_budget_alerts_provider_fy", "budget_alerts", ["provider_ods", "financial_year", "raised_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_provider_fy", table_name="budget_alerts")
    op.drop_index(op.f("ix_budget_alerts_budget_line_id"), table_name="budget_alerts")
    op.drop_table("budget_alerts")
