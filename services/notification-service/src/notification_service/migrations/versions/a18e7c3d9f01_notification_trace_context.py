"""A queued mail keeps the trace context of the event that queued it, so its sending continues that trace.

Revision ID: a18e7c3d9f01
Revises: a81f4c2e9d10
Create Date: 2026-12-02 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a18e7c3d9f01"
down_revision: str | None = "a81f4c2e9d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: mails queued before this revision, or outside any trace, have none
    op.add_column("notifications", sa.Column("trace_context", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "trace_context")
