"""SACT rows: a BRIN index on the submission instead of the primary key; the duplicate checksum

Revision ID: 8d2f4a61c0b7
Revises: 5b1e2c7d9a40
Create Date: 2026-12-01 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d2f4a61c0b7"
down_revision: str | None = "5b1e2c7d9a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The B-tree of the primary key cost about a third of COPYing a million rows; a submission's rows
    # are stored together, which a BRIN index finds in a few pages.
    op.drop_constraint("pk_sact_rows", "sact_rows", type_="primary")
    op.create_index("ix_sact_rows_submission", "sact_rows", ["submission_id"], postgresql_using="brin")
    # Rows stored before this revision keep NULL: duplicates are looked for within a new submission.
    op.add_column("sact_rows", sa.Column("duplicate_key", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("sact_rows", "duplicate_key")
    op.drop_index("ix_sact_rows_submission", table_name="sact_rows", postgresql_using="brin")
    op.create_primary_key("pk_sact_rows", "sact_rows", ["submission_id", "row_no"])
