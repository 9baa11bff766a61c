"""Commitments recorded from CDF approvals and IFR decisions."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from casework.auth import Principal, Role, require_roles
from casework.deps import Uow
from contract_service.db.models import Commitment

router = APIRouter(prefix="/commitments", tags=["commitments"])


class CommitmentOut(BaseModel):
    id: uuid.UUID
    provider_ods: str
    financial_year: str
    source: str
    source_reference: str
    amount: Decimal
    status: str


@router.get("", response_model=list[CommitmentOut])
async def list_commitments(
    uow: Uow,
    source_reference: str | None = None,
    principal: Principal = Depends(
        require_roles(Role.CONTRACT_MANAGER, Role.FINANCE_LEAD, Role.TRUST_FINANCE, Role.SERVICE)
    ),
) -> list[CommitmentOut]:
    query = select(Commitment).order_by(Commitment.recorded_at)
    if (org := principal.org_filter()) is not None:
        query = query.where(Commitment.provider_ods.startswith(org))
    if source_reference:
        query = query.where(Commitment.source_reference == source_reference)
    rows = (await uow.session.scalars(query)).all()
    return [CommitmentOut.model_validate(r, from_attributes=True) for r in rows]
