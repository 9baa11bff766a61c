"""IFR case tables: requests, clocks, deadline alerts, transitions, documents, notes, letters, panels

Revision ID: edccc147be01
Revises: 881c925c073a
Create Date: 2026-11-23 11:13:01.871175
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "edccc147be01"
down_revision: str | None = "881c925c073a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # case references IFR-<year>-<number>: one sequence, never reused
    op.execute(sa.schema.CreateSequence(sa.Sequence("ifr_reference_seq")))
    op.create_table(
        "ifr_panels",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_panels")),
    )
    op.create_index(op.f("ix_ifr_panels_kind"), "ifr_panels", ["kind"], unique=False)
    op.create_index(op.f("ix_ifr_panels_meeting_date"), "ifr_panels", ["meeting_date"], unique=False)
    op.create_table(
        "ifr_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("provider_ods", sa.String(length=5), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("patient_ref", sa.String(length=64), nullable=True),
        sa.Column("application", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("treatment_name", sa.String(length=200), nullable=True),
        sa.Column("treatment_code", sa.String(length=20), nullable=True),
        sa.Column("clinician_email", sa.String(length=254), nullable=True),
        sa.Column("assigned_to", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("inbound_id", sa.UUID(), nullable=True),
        sa.Column("intake_problems", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("current_panel_id", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("review_outcome", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_requests")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_ifr_requests_inbound_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_ifr_requests_reference")),
    )
    op.create_index(op.f("ix_ifr_requests_assigned_to"), "ifr_requests", ["assigned_to"], unique=False)
    op.create_index(op.f("ix_ifr_requests_next_due"), "ifr_requests", ["next_due"], unique=False)
    op.create_index(op.f("ix_ifr_requests_patient_ref"), "ifr_requests", ["patient_ref"], unique=False)
    op.create_index(op.f("ix_ifr_requests_provider_ods"), "ifr_requests", ["provider_ods"], unique=False)
    op.create_index(op.f("ix_ifr_requests_state"), "ifr_requests", ["state"], unique=False)
    op.create_index(op.f("ix_ifr_requests_treatment_name"), "ifr_requests", ["treatment_name"], unique=False)
    op.create_table(
        "ifr_agenda_items",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["panel_id"], ["ifr_panels.id"], name=op.f("fk_ifr_agenda_items_panel_id_ifr_panels")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_agenda_items_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_agenda_items")),
    )
    op.create_index(op.f("ix_ifr_agenda_items_panel_id"), "ifr_agenda_items", ["panel_id"], unique=False)
    op.create_index(op.f("ix_ifr_agenda_items_request_id"), "ifr_agenda_items", ["request_id"], unique=False)
    op.create_table(
        "ifr_clocks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("clock", sa.String(length=30), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["ifr_requests.id"], name=op.f("fk_ifr_clocks_request_id_ifr_requests"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_clocks")),
    )
    op.create_index(op.f("ix_ifr_clocks_due_date"), "ifr_clocks", ["due_date"], unique=False)
    op.create_index(op.f("ix_ifr_clocks_request_id"), "ifr_clocks", ["request_id"], unique=False)
    op.create_table(
        "ifr_conflicts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["panel_id"], ["ifr_panels.id"], name=op.f("fk_ifr_conflicts_panel_id_ifr_panels")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_conflicts_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_conflicts")),
        sa.UniqueConstraint("panel_id", "request_id", "member_id", name=op.f("uq_ifr_conflicts_panel_id")),
    )
    op.create_index(op.f("ix_ifr_conflicts_panel_id"), "ifr_conflicts", ["panel_id"], unique=False)
    op.create_index(op.f("ix_ifr_conflicts_request_id"), "ifr_conflicts", ["request_id"], unique=False)
    op.create_table(
        "ifr_decisions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approved_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("present", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("excluded_for_conflict", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["panel_id"], ["ifr_panels.id"], name=op.f("fk_ifr_decisions_panel_id_ifr_panels")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_decisions_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_decisions")),
    )
    op.create_index(op.f("ix_ifr_decisions_request_id"), "ifr_decisions", ["request_id"], unique=False)
    op.create_table(
        "ifr_documents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_documents_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_documents")),
    )
    op.create_index(op.f("ix_ifr_documents_request_id"), "ifr_documents", ["request_id"], unique=False)
    op.create_table(
        "ifr_letters",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["ifr_requests.id"], name=op.f("fk_ifr_letters_request_id_ifr_requests"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_letters")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ifr_letters_event_id")),
    )
    op.create_index(op.f("ix_ifr_letters_request_id"), "ifr_letters", ["request_id"], unique=False)
    op.create_table(
        "ifr_notes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["ifr_requests.id"], name=op.f("fk_ifr_notes_request_id_ifr_requests"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_notes")),
    )
    op.create_index(op.f("ix_ifr_notes_request_id"), "ifr_notes", ["request_id"], unique=False)
    op.create_table(
        "ifr_panel_members",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("voting", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["panel_id"], ["ifr_panels.id"], name=op.f("fk_ifr_panel_members_panel_id_ifr_panels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_panel_members")),
        sa.UniqueConstraint("panel_id", "member_id", name=op.f("uq_ifr_panel_members_panel_id")),
    )
    op.create_index(op.f("ix_ifr_panel_members_member_id"), "ifr_panel_members", ["member_id"], unique=False)
    op.create_index(op.f("ix_ifr_panel_members_panel_id"), "ifr_panel_members", ["panel_id"], unique=False)
    op.create_table(
        "ifr_transitions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=False),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_transitions_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_transitions")),
    )
    op.create_index(op.f("ix_ifr_transitions_on"), "ifr_transitions", ["on"], unique=False)
    op.create_index(op.f("ix_ifr_transitions_request_id"), "ifr_transitions", ["request_id"], unique=False)
    op.create_table(
        "ifr_deadline_alerts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("clock_id", sa.UUID(), nullable=False),
        sa.Column("alert", sa.String(length=30), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clock_id"], ["ifr_clocks.id"], name=op.f("fk_ifr_deadline_alerts_clock_id_ifr_clocks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_deadline_alerts")),
        sa.UniqueConstraint("clock_id", "alert", name=op.f("uq_ifr_deadline_alerts_clock_id")),
    )


def downgrade() -> None:
    op.drop_table("ifr_deadline_alerts")
    op.drop_index(op.f("ix_ifr_transitions_request_id"), table_name="ifr_transitions")
    op.drop_index(op.f("ix_ifr_transitions_on"), table_name="ifr_transitions")
    op.drop_table("ifr_transitions")
    op.drop_index(op.f("ix_ifr_panel_members_panel_id"), table_name="ifr_panel_members")
    op.drop_index(op.f("ix_ifr_panel_members_member_id"), table_name="ifr_panel_members")
    op.drop_table("ifr_panel_members")
    op.drop_index(op.f("ix_ifr_notes_request_id"), table_name="ifr_notes")
    op.drop_table("ifr_notes")
    op.drop_index(op.f("ix_ifr_letters_request_id"), table_name="ifr_letters")
    op.drop_table("ifr_letters")
    op.drop_index(op.f("ix_ifr_documents_request_id"), table_name="ifr_documents")
    op.drop_table("ifr_documents")
    op.drop_index(op.f("ix_ifr_decisions_request_id"), table_name="ifr_decisions")
    op.drop_table("ifr_decisions")
    op.drop_index(op.f("ix_ifr_conflicts_request_id"), table_name="ifr_conflicts")
    op.drop_index(op.f("ix_ifr_conflicts_panel_id"), table_name="ifr_conflicts")
    op.drop_table("ifr_conflicts")
    op.drop_index(op.f("ix_ifr_clocks_request_id"), table_name="ifr_clocks")
    op.drop_index(op.f("ix_ifr_clocks_due_date"), table_name="ifr_clocks")
    op.drop_table("ifr_clocks")
    op.drop_index(op.f("ix_ifr_agenda_items_request_id"), table_name="ifr_agenda_items")
    op.drop_index(op.f("ix_ifr_agenda_items_panel_id"), table_name="ifr_agenda_items")
    op.drop_table("ifr_agenda_items")
    op.drop_index(op.f("ix_ifr_requests_treatment_name"), table_name="ifr_requests")
    op.drop_index(op.f("ix_ifr_requests_state"), table_name="ifr_requests")
    op.drop_index(op.f("ix_ifr_requests_provider_ods"), table_name="ifr_requests")
    op.drop_index(op.f("ix_ifr_requests_patient_ref"), table_name="ifr_requests")
    op.drop_index(op.f("ix_ifr_requests_next_due"), table_name="ifr_requests")
    op.drop_index(op.f("ix_ifr_requests_assigned_to"), table_name="ifr_requests")
    op.drop_table("ifr_requests")
    op.drop_index(op.f("ix_ifr_panels_meeting_date"), table_name="ifr_panels")
    op.drop_index(op.f("ix_ifr_panels_kind"), table_name="ifr_panels")
    op.drop_table("ifr_panels")
    op.execute(sa.schema.DropSequence(sa.Sequence("ifr_reference_seq")))
