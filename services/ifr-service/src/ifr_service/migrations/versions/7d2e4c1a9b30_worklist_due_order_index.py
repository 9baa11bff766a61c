"""The worklist by next due date: an index on coalesce(next_due, far future), id (the console's default order).

Revision ID: 7d2e4c1a9b30
Revises: 56f6b58c47a3
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d2e4c1a9b30"
down_revision: str | None = "56f6b58c47a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ifr_requests_due_order", "ifr_requests", [sa.text("coalesce(next_due, '9999-12-31'::date)"), "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ifr_requests_due_order", table_name="ifr_requests")
