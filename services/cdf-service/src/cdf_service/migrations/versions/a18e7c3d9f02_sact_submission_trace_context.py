"""A SACT submission keeps the trace context of its upload, so the worker's processing continues that trace.

Revision ID: a18e7c3d9f02
Revises: b3e8d6f1a4c7
Create Date: 2026-12-02 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a18e7c3d9f02"
down_revision: str | None = "b3e8d6f1a4c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: submissions stored before this revision, or outside any trace, have none
    op.add_column("sact_submissions", sa.Column("trace_context", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("sact_submissions", "trace_context")
