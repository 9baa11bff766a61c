"""The cohort trigger: each request's treatment key, the cohort alerts and the requests counted in them.

Existing requests get their treatment key from their application (domain/cohort.py treatment_key);
no alert is raised for them here: the next request received for a treatment counts them.

Revision ID: e4b2f6a8c102
Revises: d3a1e5f7b901
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ifr_service.domain.cohort import treatment_key

revision: str = "e4b2f6a8c102"
down_revision: str | None = "d3a1e5f7b901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ifr_requests", sa.Column("treatment_key", sa.String(length=260), nullable=True))
    requests = sa.table("ifr_requests", sa.column("id"), sa.column("application"), sa.column("treatment_key"))
    connection = op.get_bind()
    for row in connection.execute(sa.select(requests.c.id, requests.c.application)):
        application = row.application or {}
        treatment = application.get("treatment") or {}
        clinical = application.get("clinical") or {}
        key = treatment_key(
            treatment.get("dmd_code"),
            treatment.get("opcs4_code"),
            clinical.get("diagnosis_icd10"),
            clinical.get("diagnosis"),
        )
        if key is not None:
            connection.execute(sa.update(requests).where(requests.c.id == row.id).values(treatment_key=key))
    op.create_index("ix_ifr_requests_cohort", "ifr_requests", ["treatment_key", "region", "received_on"], unique=False)

    op.execute(sa.schema.CreateSequence(sa.Sequence("ifr_cohort_reference_seq")))
    op.create_table(
        "ifr_cohort_alerts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("treatment_key", sa.String(length=260), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("treatment_name", sa.String(length=200), nullable=False),
        sa.Column("treatment_code", sa.String(length=20), nullable=False),
        sa.Column("indication_code", sa.String(length=10), nullable=True),
        sa.Column("indication", sa.String(length=200), nullable=True),
        sa.Column("min_requests", sa.Integer(), nullable=False),
        sa.Column("window_months", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("open_until", sa.Date(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_cohort_alerts")),
        sa.UniqueConstraint("reference", name=op.f("uq_ifr_cohort_alerts_reference")),
        # one alert per treatment, region and crossing
        sa.UniqueConstraint("treatment_key", "region", "window_start", name=op.f("uq_ifr_cohort_alerts_treatment_key")),
    )
    op.create_index(op.f("ix_ifr_cohort_alerts_region"), "ifr_cohort_alerts", ["region"], unique=False)
    op.create_index(op.f("ix_ifr_cohort_alerts_open_until"), "ifr_cohort_alerts", ["open_until"], unique=False)
    op.create_table(
        "ifr_cohort_alert_cases",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["ifr_cohort_alerts.id"],
            name=op.f("fk_ifr_cohort_alert_cases_alert_id_ifr_cohort_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ifr_requests.id"],
            name=op.f("fk_ifr_cohort_alert_cases_request_id_ifr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ifr_cohort_alert_cases")),
        sa.UniqueConstraint("alert_id", "request_id", name=op.f("uq_ifr_cohort_alert_cases_alert_id")),
    )
    op.create_index(op.f("ix_ifr_cohort_alert_cases_alert_id"), "ifr_cohort_alert_cases", ["alert_id"], unique=False)
    op.create_index(
        op.f("ix_ifr_cohort_alert_cases_request_id"), "ifr_cohort_alert_cases", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("ifr_cohort_alert_cases")
    op.drop_table("ifr_cohort_alerts")
    op.execute(sa.schema.DropSequence(sa.Sequence("ifr_cohort_reference_seq")))
    op.drop_index("ix_ifr_requests_cohort", table_name="ifr_requests")
    op.drop_column("ifr_requests", "treatment_key")
