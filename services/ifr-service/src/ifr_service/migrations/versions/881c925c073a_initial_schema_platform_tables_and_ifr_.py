"""initial schema: platform tables and ifr tables

Revision ID: 881c925c073a
Revises:
Create Date: 2026-11-22 22:46:05.638385
"""

from collections.abc import Sequence

from casework.platform_migrations import create_platform_tables_v1, drop_platform_tables_v1

revision: str = "881c925c073a"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables_v1()


def downgrade() -> None:
    drop_platform_tables_v1()
