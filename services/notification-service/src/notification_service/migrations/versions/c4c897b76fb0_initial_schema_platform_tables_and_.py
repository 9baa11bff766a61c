"""initial schema: platform tables and notification tables

Revision ID: c4c897b76fb0
Revises:
Create Date: 2026-11-22 22:46:21.763483
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from casework.platform_migrations import create_platform_tables_v1, drop_platform_tables_v1

revision: str = "c4c897b76fb0"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables_v1()
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source_event_id", sa.UUID(), nullable=False),
        sa.Column("source_event_type", sa.String(length=120), nullable=False),
        sa.Column("template", sa.String(length=120), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("case_reference", sa.String(length=40), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notifications_message_id")),
        sa.UniqueConstraint("source_event_id", "template", "recipient", name=op.f("uq_notifications_source_event_id")),
    )
    op.create_index(op.f("ix_notifications_case_reference"), "notifications", ["case_reference"], unique=False)
    op.create_index(op.f("ix_notifications_recipient"), "notifications", ["recipient"], unique=False)
    op.create_index(op.f("ix_notifications_status"), "notifications", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_status"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_recipient"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_case_reference"), table_name="notifications")
    op.drop_table("notifications")
    drop_platform_tables_v1()
