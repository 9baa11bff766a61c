"""The budget what-if shown before a CDF application was made, kept with it (applications.budget_impact).

Revision ID: f59c2d8e3a02
Revises: 0183b9686416
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f59c2d8e3a02"
down_revision: str | None = "0183b9686416"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("budget_impact", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("applications", "budget_impact")
