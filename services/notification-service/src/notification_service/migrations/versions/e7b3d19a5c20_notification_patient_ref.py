"""Notifications keep the patient_ref of the event that caused them, so the IG audit can find a patient's mails.

Revision ID: e7b3d19a5c20
Revises: d48e1f7a2b05
Create Date: 2026-12-02 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7b3d19a5c20"
down_revision: str | None = "d48e1f7a2b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: mails queued before this revision, and mails about no patient, have none
    op.add_column("notifications", sa.Column("patient_ref", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_notifications_patient_ref"), "notifications", ["patient_ref"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_patient_ref"), table_name="notifications")
    op.drop_column("notifications", "patient_ref")
