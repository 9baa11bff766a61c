"""forecasts: the new-approvals part and the SACT horizon; the forecast backtests (figures, data, band calibration)

Revision ID: 9d9c9bf36141
Revises: e4a7c2b9d153
Create Date: 2026-12-01 21:23:07.577098
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d9c9bf36141"
down_revision: str | None = "e4a7c2b9d153"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_backtests",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("seconds", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("calibration", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_backtests")),
    )
    op.add_column(
        "forecasts",
        sa.Column("new_approvals", sa.Numeric(precision=14, scale=2), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("forecasts", sa.Column("sact_to", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("forecasts", "sact_to")
    op.drop_column("forecasts", "new_approvals")
    op.drop_table("forecast_backtests")
