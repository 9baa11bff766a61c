"""Unapproved use as a case: each detection has an id, the row and NHS number of its first administration
(listed SACT rows now keep the NHS number), the list entries of the drug, and a state with the trust's
answer and the commissioner's decision

Revision ID: 0183b9686416
Revises: c26f8b3d5e02
Create Date: 2026-12-02 01:01:42.477964
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0183b9686416"
down_revision: str | None = "c26f8b3d5e02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sact_rows", sa.Column("nhs_number", sa.String(length=10), nullable=True))
    op.add_column(
        "unapproved_uses", sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)
    )
    op.add_column("unapproved_uses", sa.Column("row_no", sa.Integer(), nullable=True))
    op.add_column("unapproved_uses", sa.Column("nhs_number", sa.String(length=10), nullable=True))
    op.add_column("unapproved_uses", sa.Column("drug_name", sa.String(length=200), nullable=True))
    op.add_column("unapproved_uses", sa.Column("dmd_id", sa.String(length=18), nullable=True))
    op.add_column(
        "unapproved_uses",
        sa.Column("entry_ids", postgresql.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False),
    )
    op.add_column(
        "unapproved_uses", sa.Column("status", sa.String(length=12), server_default=sa.text("'open'"), nullable=False)
    )
    op.add_column("unapproved_uses", sa.Column("approval_reference", sa.String(length=30), nullable=True))
    op.add_column("unapproved_uses", sa.Column("application_id", sa.UUID(), nullable=True))
    op.add_column("unapproved_uses", sa.Column("explanation", sa.Text(), nullable=True))
    op.add_column("unapproved_uses", sa.Column("answered_by", sa.String(length=200), nullable=True))
    op.add_column("unapproved_uses", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("unapproved_uses", sa.Column("decision_note", sa.Text(), nullable=True))
    op.add_column("unapproved_uses", sa.Column("decided_by", sa.String(length=200), nullable=True))
    op.add_column("unapproved_uses", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("unapproved_uses", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("unapproved_uses", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.create_index("ix_unapproved_uses_list", "unapproved_uses", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_unapproved_uses_status"), "unapproved_uses", ["status"], unique=False)
    op.create_index(op.f("ix_unapproved_uses_submission_id"), "unapproved_uses", ["submission_id"], unique=False)
    op.create_unique_constraint(op.f("uq_unapproved_uses_id"), "unapproved_uses", ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_unapproved_uses_id"), "unapproved_uses", type_="unique")
    op.drop_index(op.f("ix_unapproved_uses_submission_id"), table_name="unapproved_uses")
    op.drop_index(op.f("ix_unapproved_uses_status"), table_name="unapproved_uses")
    op.drop_index("ix_unapproved_uses_list", table_name="unapproved_uses")
    op.drop_column("unapproved_uses", "version")
    op.drop_column("unapproved_uses", "closed_at")
    op.drop_column("unapproved_uses", "decided_at")
    op.drop_column("unapproved_uses", "decided_by")
    op.drop_column("unapproved_uses", "decision_note")
    op.drop_column("unapproved_uses", "answered_at")
    op.drop_column("unapproved_uses", "answered_by")
    op.drop_column("unapproved_uses", "explanation")
    op.drop_column("unapproved_uses", "application_id")
    op.drop_column("unapproved_uses", "approval_reference")
    op.drop_column("unapproved_uses", "status")
    op.drop_column("unapproved_uses", "entry_ids")
    op.drop_column("unapproved_uses", "dmd_id")
    op.drop_column("unapproved_uses", "drug_name")
    op.drop_column("unapproved_uses", "nhs_number")
    op.drop_column("unapproved_uses", "row_no")
    op.drop_column("unapproved_uses", "id")
    op.drop_column("sact_rows", "nhs_number")
