"""A SACT problem's field holds any item header: v4.0's longest is 81 characters (PROFESSIONAL_REGISTRATION_
ENTRY_IDENTIFIER_CARE_PROFESSIONAL_INITIATING_TREATMENT), v3.0's 70; at 60 a row with a problem in one of
them failed the whole submission instead of being reported.

Revision ID: d4f1a9b27c60
Revises: a18e7c3d9f02
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f1a9b27c60"
down_revision: str | None = "a18e7c3d9f02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # widening a varchar is a catalogue change in PostgreSQL: no table rewrite
    op.alter_column("sact_problems", "field", type_=sa.String(120), existing_type=sa.String(60))


def downgrade() -> None:
    op.alter_column("sact_problems", "field", type_=sa.String(60), existing_type=sa.String(120))
