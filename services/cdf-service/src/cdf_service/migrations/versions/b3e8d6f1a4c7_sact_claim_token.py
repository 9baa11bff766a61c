"""A SACT submission's claim: the token of the worker that holds it, and which process that is.

Revision ID: b3e8d6f1a4c7
Revises: f59c2d8e3a02
Create Date: 2026-12-02 18:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3e8d6f1a4c7"
down_revision: str | None = "f59c2d8e3a02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: submissions never claimed, and those processed before claims had tokens
    op.add_column("sact_submissions", sa.Column("claim_token", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column("sact_submissions", sa.Column("claimed_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("sact_submissions", "claimed_by")
    op.drop_column("sact_submissions", "claim_token")
