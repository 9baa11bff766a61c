"""The budget what-if shown before a decision, kept with the decision (ifr_decisions.budget_impact).

Revision ID: e48b1c7d2f01
Revises: e4b2f6a8c102
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e48b1c7d2f01"
down_revision: str | None = "e4b2f6a8c102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ifr_decisions", sa.Column("budget_impact", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("ifr_decisions", "budget_impact")
