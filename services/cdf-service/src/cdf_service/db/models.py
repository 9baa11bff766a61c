"""CDF tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Integer, Numeric, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from cdf_service.db.base import Base


class Application(Base):
    """A prior-approval application for a national CDF list entry."""

    __tablename__ = "applications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    patient_ref: Mapped[str] = mapped_column(String(64), index=True)
    nhs_number: Mapped[str] = mapped_column(String(10))
    entry_id: Mapped[str] = mapped_column(String(40))
    dmd_id: Mapped[str] = mapped_column(String(18))
    drug_name: Mapped[str] = mapped_column(String(200))
    indication: Mapped[str] = mapped_column(String(500))
    clinician_gmc: Mapped[str] = mapped_column(String(10))
    clinician_email: Mapped[str] = mapped_column(String(254))
    planned_start: Mapped[date] = mapped_column(Date)
    lapse_due: Mapped[date] = mapped_column(Date)
    expected_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
