"""The relay rate limit in the database: one token bucket per relay account, shared by all sender replicas.

Revision ID: a81f4c2e9d10
Revises: e7b3d19a5c20
Create Date: 2026-12-02 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a81f4c2e9d10"
down_revision: str | None = "e7b3d19a5c20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_rate_buckets",
        sa.Column("account", sa.String(length=400), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_relay_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("relay_rate_buckets")
