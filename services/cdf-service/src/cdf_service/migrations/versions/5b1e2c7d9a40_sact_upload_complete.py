"""SACT submissions: whether the upload has ended (a worker may take a file up while it is still arriving)

Revision ID: 5b1e2c7d9a40
Revises: c73531922c82
Create Date: 2026-11-30 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e2c7d9a40"
down_revision: str | None = "c73531922c82"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every submission stored before this revision was stored whole before it was processed.
    op.add_column(
        "sact_submissions",
        sa.Column("upload_complete", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("sact_submissions", "upload_complete")
