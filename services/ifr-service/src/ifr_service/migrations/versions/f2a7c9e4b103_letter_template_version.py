"""Each letter on file records the template and version its wording came from (ifr_letters).

Letters written before the wording moved into versioned templates have neither (NULL).

Revision ID: f2a7c9e4b103
Revises: e48b1c7d2f01
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2a7c9e4b103"
down_revision: str | None = "e48b1c7d2f01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ifr_letters", sa.Column("template", sa.String(length=60), nullable=True))
    op.add_column("ifr_letters", sa.Column("template_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("ifr_letters", "template_version")
    op.drop_column("ifr_letters", "template")
