"""SACT v4.0: submissions know their version; rows and matched cycles carry the cycles a row covers,
the cycle length, whether an oral drug was dispensed and every stop reason (a mask, not one code)

Revision ID: e4a7c2b9d153
Revises: 8d2f4a61c0b7
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e4a7c2b9d153"
down_revision: str | None = "8d2f4a61c0b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The outcome codes stored before (1 completed, 2 progression, 3 toxicity, 4 patient choice, 5 died,
# 9 other) as stop-reason bits (domain.stop_reasons: completed 1, progression 2, toxicity 4, patient
# choice 8, organisation 16, MRD negative 32, death 64, other 128).
_OUTCOME_BITS = "CASE outcome WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 4 WHEN '4' THEN 8 WHEN '5' THEN 64 WHEN '9' THEN 128 END"
_REASON_WORDS = {
    "completed as planned": "completed",
    "disease progression": "progression",
    "toxicity": "toxicity",
    "patient choice": "patient_choice",
    "patient died": "death",
    "other or not known": "other",
}


def upgrade() -> None:
    op.add_column("sact_submissions", sa.Column("sact_version", sa.SmallInteger(), nullable=True))
    op.add_column("sact_rows", sa.Column("stop_reasons", sa.SmallInteger(), nullable=True))
    op.execute(f"UPDATE sact_rows SET stop_reasons = {_OUTCOME_BITS} WHERE outcome IS NOT NULL")
    op.drop_column("sact_rows", "outcome")
    op.add_column("sact_rows", sa.Column("cycles", sa.SmallInteger(), server_default=sa.text("1"), nullable=False))
    op.add_column("sact_rows", sa.Column("cycle_length_days", sa.SmallInteger(), nullable=True))
    op.add_column("sact_rows", sa.Column("dispensed", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("treatment_cycles", sa.Column("given_on", sa.Date(), nullable=True))
    op.execute("UPDATE treatment_cycles SET given_on = cycle_start")
    op.alter_column("treatment_cycles", "given_on", nullable=False)
    op.add_column("treatment_cycles", sa.Column("cycle_length_days", sa.SmallInteger(), nullable=True))
    op.add_column(
        "treatment_cycles", sa.Column("dispensed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.alter_column("applications", "stop_reason", type_=sa.Text(), existing_type=sa.String(length=80))
    op.add_column("applications", sa.Column("stop_reasons", postgresql.ARRAY(sa.Text()), nullable=True))
    for words, reason in _REASON_WORDS.items():
        op.execute(
            sa.text("UPDATE applications SET stop_reasons = ARRAY[:reason] WHERE stop_reason = :words").bindparams(
                reason=reason, words=words
            )
        )


def downgrade() -> None:
    op.drop_column("applications", "stop_reasons")
    op.alter_column("applications", "stop_reason", type_=sa.String(length=80), existing_type=sa.Text())
    op.drop_column("treatment_cycles", "dispensed")
    op.drop_column("treatment_cycles", "cycle_length_days")
    op.drop_column("treatment_cycles", "given_on")
    op.drop_column("sact_rows", "dispensed")
    op.drop_column("sact_rows", "cycle_length_days")
    op.drop_column("sact_rows", "cycles")
    op.add_column("sact_rows", sa.Column("outcome", sa.String(length=2), nullable=True))
    op.drop_column("sact_rows", "stop_reasons")
    op.drop_column("sact_submissions", "sact_version")
