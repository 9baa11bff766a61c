"""Platform tables v2: the retention indexes (casework.platform_migrations).

Revision ID: b15e7a2c4d04
Revises: 98ca73d2fd39
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

from casework.platform_migrations import (
    drop_platform_tables_v2_retention_indexes,
    platform_tables_v2_retention_indexes,
)

revision: str = "b15e7a2c4d04"
down_revision: str | None = "98ca73d2fd39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    platform_tables_v2_retention_indexes()


def downgrade() -> None:
    drop_platform_tables_v2_retention_indexes()
