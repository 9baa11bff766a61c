"""Chair's action and ratification: who decided an urgent request and why, and the decision each one supersedes.

Revision ID: 56f6b58c47a3
Revises: edccc147be01
Create Date: 2026-11-23 12:07:16.558546
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "56f6b58c47a3"
down_revision: str | None = "edccc147be01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ifr_decisions", sa.Column("basis", sa.String(length=20), server_default="panel", nullable=False))
    op.add_column("ifr_decisions", sa.Column("acting_chair", sa.String(length=200), nullable=True))
    op.add_column("ifr_decisions", sa.Column("urgent_reason", sa.Text(), nullable=True))
    op.add_column("ifr_decisions", sa.Column("ratification_due", sa.Date(), nullable=True))
    op.add_column("ifr_decisions", sa.Column("ratification", sa.String(length=20), nullable=True))
    op.add_column("ifr_decisions", sa.Column("supersedes_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_ifr_decisions_supersedes_id_ifr_decisions"),
        "ifr_decisions",
        "ifr_decisions",
        ["supersedes_id"],
        ["id"],
    )
    op.add_column("ifr_requests", sa.Column("ratification_due", sa.Date(), nullable=True))
    op.create_index(op.f("ix_ifr_requests_ratification_due"), "ifr_requests", ["ratification_due"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ifr_requests_ratification_due"), table_name="ifr_requests")
    op.drop_column("ifr_requests", "ratification_due")
    op.drop_constraint(op.f("fk_ifr_decisions_supersedes_id_ifr_decisions"), "ifr_decisions", type_="foreignkey")
    op.drop_column("ifr_decisions", "supersedes_id")
    op.drop_column("ifr_decisions", "ratification")
    op.drop_column("ifr_decisions", "ratification_due")
    op.drop_column("ifr_decisions", "urgent_reason")
    op.drop_column("ifr_decisions", "acting_chair")
    op.drop_column("ifr_decisions", "basis")
