"""IFR decision states and superseding decisions on commitments

Per IFR request the decision last applied (so a late, superseded decision is ignored), and on each
IFR commitment the decision it rests on and its ratification. Existing rows keep NULLs: their
decisions were unnumbered.

Revision ID: 833d409b6145
Revises: ff849ac81292
Create Date: 2026-11-23 14:07:08.617146
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "833d409b6145"
down_revision: str | None = "ff849ac81292"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ifr_decision_states",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("decision_number", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("basis", sa.String(length=20), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("ratified_decision_id", sa.UUID(), nullable=True),
        sa.Column("ratified_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_ifr_decision_states")),
    )
    op.add_column("commitments", sa.Column("decision_id", sa.UUID(), nullable=True))
    op.add_column("commitments", sa.Column("decision_number", sa.Integer(), nullable=True))
    op.add_column("commitments", sa.Column("decision_basis", sa.String(length=20), nullable=True))
    op.add_column("commitments", sa.Column("ratification_due", sa.Date(), nullable=True))
    op.add_column("commitments", sa.Column("ratified_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("commitments", "ratified_on")
    op.drop_column("commitments", "ratification_due")
    op.drop_column("commitments", "decision_basis")
    op.drop_column("commitments", "decision_number")
    op.drop_column("commitments", "decision_id")
    op.drop_table("ifr_decision_states")
