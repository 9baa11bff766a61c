"""Contract tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from contract_service.db.base import Base


class Commitment(Base):
    """Money committed on a provider's excluded-drugs budget by a CDF approval or IFR decision."""

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("source", "source_reference"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    provider_ods: Mapped[str] = mapped_column(String(5), index=True)
    financial_year: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(10))
    source_reference: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    patient_ref: Mapped[str] = mapped_column(String(64))
    dmd_id: Mapped[str | None] = mapped_column(String(18))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), default="committed")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
