"""outbound queue with claims and versions, template versions, inbound mail

The queue gains what the sender, the API and the routing need (HTML part, threading headers,
claim token + lease, version for If-Match, provider ODS for the organisation rule); edited template
versions and the inbound gateway's messages and attachments get their own tables.

Revision ID: 98ca73d2fd39
Revises: c4c897b76fb0
Create Date: 2026-11-23 11:20:04.513922
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "98ca73d2fd39"
down_revision: str | None = "c4c897b76fb0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("envelope_sender", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("application", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("application_source", sa.String(length=40), nullable=True),
        sa.Column("application_problems", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
    )
    op.create_index(op.f("ix_inbound_messages_mailbox"), "inbound_messages", ["mailbox"], unique=False)
    op.create_index(op.f("ix_inbound_messages_sender"), "inbound_messages", ["sender"], unique=False)
    op.create_index(op.f("ix_inbound_messages_sha256"), "inbound_messages", ["sha256"], unique=False)
    op.create_table(
        "template_versions",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("sample", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_template_versions")),
    )
    op.create_table(
        "inbound_attachments",
        sa.Column("inbound_id", sa.UUID(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_inbound_attachments_inbound_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inbound_id", "index", name=op.f("pk_inbound_attachments")),
    )
    # Rows queued before this revision (a dev database) get the packaged version and a blank HTML part.
    op.add_column(
        "notifications", sa.Column("template_version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column("notifications", sa.Column("recipient_role", sa.String(length=40), nullable=True))
    op.add_column("notifications", sa.Column("provider_ods", sa.String(length=10), nullable=True))
    op.add_column("notifications", sa.Column("link", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("body_html", sa.Text(), server_default="", nullable=False))
    op.add_column("notifications", sa.Column("in_reply_to", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("references", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("claim_token", sa.UUID(), nullable=True))
    op.add_column("notifications", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "notifications",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.add_column("notifications", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.alter_column(
        "notifications",
        "case_reference",
        existing_type=sa.VARCHAR(length=40),
        type_=sa.String(length=200),
        existing_nullable=True,
    )
    op.alter_column(
        "notifications",
        "subject",
        existing_type=sa.VARCHAR(length=300),
        type_=sa.Text(),
        existing_nullable=False,
    )
    op.create_index("ix_notifications_created_at_id", "notifications", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'sending')"),
    )
    op.create_index(op.f("ix_notifications_provider_ods"), "notifications", ["provider_ods"], unique=False)
    op.create_index(op.f("ix_notifications_source_event_type"), "notifications", ["source_event_type"], unique=False)
    op.create_index(op.f("ix_notifications_template"), "notifications", ["template"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_template"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_source_event_type"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_provider_ods"), table_name="notifications")
    op.drop_index(
        "ix_notifications_due", table_name="notifications", postgresql_where=sa.text("status IN ('queued', 'sending')")
    )
    op.drop_index("ix_notifications_created_at_id", table_name="notifications")
    op.alter_column(
        "notifications",
        "case_reference",
        existing_type=sa.String(length=200),
        type_=sa.VARCHAR(length=40),
        existing_nullable=True,
    )
    op.alter_column(
        "notifications",
        "subject",
        existing_type=sa.Text(),
        type_=sa.VARCHAR(length=300),
        existing_nullable=False,
    )
    op.drop_column("notifications", "version")
    op.drop_column("notifications", "updated_at")
    op.drop_column("notifications", "lease_until")
    op.drop_column("notifications", "claim_token")
    op.drop_column("notifications", "references")
    op.drop_column("notifications", "in_reply_to")
    op.drop_column("notifications", "body_html")
    op.drop_column("notifications", "link")
    op.drop_column("notifications", "provider_ods")
    op.drop_column("notifications", "recipient_role")
    op.drop_column("notifications", "template_version")
    op.drop_table("inbound_attachments")
    op.drop_table("template_versions")
    op.drop_index(op.f("ix_inbound_messages_sha256"), table_name="inbound_messages")
    op.drop_index(op.f("ix_inbound_messages_sender"), table_name="inbound_messages")
    op.drop_index(op.f("ix_inbound_messages_mailbox"), table_name="inbound_messages")
    op.drop_table("inbound_messages")
