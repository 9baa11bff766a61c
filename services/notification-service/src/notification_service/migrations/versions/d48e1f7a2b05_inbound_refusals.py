"""inbound refusals: the envelope facts and reason of each message the gateway refused (no content)

Revision ID: d48e1f7a2b05
Revises: e3a91c5d7f20
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d48e1f7a2b05"
down_revision: str | None = "e3a91c5d7f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_refusals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("envelope_sender", sa.String(length=254), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_refusals")),
    )
    op.create_index(op.f("ix_inbound_refusals_mailbox"), "inbound_refusals", ["mailbox"], unique=False)
    op.create_index(op.f("ix_inbound_refusals_sender"), "inbound_refusals", ["sender"], unique=False)
    op.create_index(op.f("ix_inbound_refusals_refused_at"), "inbound_refusals", ["refused_at"], unique=False)


def downgrade() -> None:
    op.drop_table("inbound_refusals")
