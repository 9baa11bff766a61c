"""Platform tables v3: the partition and offset each outbox row was acknowledged at (casework.platform_migrations).

Revision ID: c26f8b3d5e02
Revises: b15e7a2c4d02
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

from casework.platform_migrations import (
    drop_platform_tables_v3_published_offsets,
    platform_tables_v3_published_offsets,
)

revision: str = "c26f8b3d5e02"
down_revision: str | None = "b15e7a2c4d02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    platform_tables_v3_published_offsets()


def downgrade() -> None:
    drop_platform_tables_v3_published_offsets()
