"""Validation queries name where they came from: a drug return, or the CDF's challenge of an unapproved
use (its detection, one query each, and what it is about).

Revision ID: 5b7e2d9c1a48
Revises: c26f8b3d5e03
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b7e2d9c1a48"
down_revision: str | None = "c26f8b3d5e03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "validation_queries",
        sa.Column("source", sa.String(length=30), server_default=sa.text("'drug_return'"), nullable=False),
    )
    op.add_column("validation_queries", sa.Column("detection_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column("validation_queries", sa.Column("subject", sa.Text(), nullable=True))
    op.create_unique_constraint(op.f("uq_validation_queries_detection_id"), "validation_queries", ["detection_id"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_validation_queries_detection_id"), "validation_queries", type_="unique")
    op.drop_column("validation_queries", "subject")
    op.drop_column("validation_queries", "detection_id")
    op.drop_column("validation_queries", "source")
