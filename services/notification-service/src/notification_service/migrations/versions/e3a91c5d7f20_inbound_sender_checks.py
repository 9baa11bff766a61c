"""An inbound message keeps what its sender checks found (SPF, DKIM, DMARC, the Authentication-Results header).

Revision ID: e3a91c5d7f20
Revises: c26f8b3d5e04
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3a91c5d7f20"
down_revision: str | None = "c26f8b3d5e04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_messages", sa.Column("sender_auth", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("inbound_messages", "sender_auth")
