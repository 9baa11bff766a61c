"""Commissioning regions: `region` on IFR requests (from the provider's trust) and on panels.

Existing requests are back-filled from the default trust-to-region mapping as it stood when this
revision was written (a frozen copy: a later change to the setting's default must not change what
this revision did); a request of a trust the mapping does not know keeps no region. Existing panels
take the region most of the cases on their agenda belong to; a panel with none takes London (Y56),
the region of every dev trust that had put cases before a panel (RRV, RJ1).

Revision ID: d3a1e5f7b901
Revises: c26f8b3d5e01
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3a1e5f7b901"
down_revision: str | None = "c26f8b3d5e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRUST_REGIONS = {
    "RRV": "Y56",
    "RJ1": "Y56",
    "RPY": "Y56",
    "RTH": "Y59",
    "RA7": "Y58",
    "RWE": "Y60",
    "RRK": "Y60",
    "RGT": "Y61",
    "RM1": "Y61",
    "RBV": "Y62",
    "RHQ": "Y63",
}
FALLBACK_PANEL_REGION = "Y56"


def upgrade() -> None:
    op.add_column("ifr_requests", sa.Column("region", sa.String(length=3), nullable=True))
    op.create_index(op.f("ix_ifr_requests_region"), "ifr_requests", ["region"], unique=False)
    values = ", ".join(f"('{trust}', '{region}')" for trust, region in TRUST_REGIONS.items())
    op.execute(
        f"""
        UPDATE ifr_requests AS r SET region = m.region
        FROM (VALUES {values}) AS m(trust, region)
        WHERE upper(substr(r.provider_ods, 1, 3)) = m.trust
        """
    )

    op.add_column("ifr_panels", sa.Column("region", sa.String(length=3), nullable=True))
    op.execute(
        f"""
        UPDATE ifr_panels AS p SET region = coalesce(
            (SELECT r.region FROM ifr_agenda_items a JOIN ifr_requests r ON r.id = a.request_id
             WHERE a.panel_id = p.id AND r.region IS NOT NULL
             GROUP BY r.region ORDER BY count(*) DESC, r.region LIMIT 1),
            '{FALLBACK_PANEL_REGION}')
        """
    )
    op.alter_column("ifr_panels", "region", nullable=False)
    op.create_index(op.f("ix_ifr_panels_region"), "ifr_panels", ["region"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ifr_panels_region"), table_name="ifr_panels")
    op.drop_column("ifr_panels", "region")
    op.drop_index(op.f("ix_ifr_requests_region"), table_name="ifr_requests")
    op.drop_column("ifr_requests", "region")
