"""initial schema: platform tables and contract tables

Revision ID: 94aeba70f6d4
Revises:
Create Date: 2026-11-22 22:46:16.562313
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from casework.platform_migrations import create_platform_tables_v1, drop_platform_tables_v1

revision: str = "94aeba70f6d4"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables_v1()
    op.create_table(
        "commitments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("source_reference", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("dmd_id", sa.String(length=18), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint("source", "source_reference", name=op.f("uq_commitments_source")),
    )
    op.create_index(op.f("ix_commitments_provider_ods"), "commitments", ["provider_ods"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_commitments_provider_ods"), table_name="commitments")
    op.drop_table("commitments")
    drop_platform_tables_v1()
