"""initial schema: platform tables and cdf tables

Revision ID: 3639b07d732a
Revises:
Create Date: 2026-11-22 22:46:11.107377
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from casework.platform_migrations import create_platform_tables_v1, drop_platform_tables_v1

revision: str = "3639b07d732a"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables_v1()
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


def downgrade() -> None:
    op.drop_index(op.f("ix_applications_provider_ods"), table_name="applications")
    op.drop_index(op.f("ix_applications_patient_ref"), table_name="applications")
    op.drop_table("applications")
    drop_platform_tables_v1()
