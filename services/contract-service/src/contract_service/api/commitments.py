"""Commitments recorded from CDF approvals and IFR decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from casework.auth import Principal
from casework.identifiers import OdsCode
from casework.pagination import paginate
from contract_service.api.access import reader
from contract_service.db.models import Commitment
from contract_service.runtime import Uow

router = APIRouter(prefix="/commitments", tags=["commitments"])


class CommitmentOut(BaseModel):
    id: uuid.UUID
    provider_ods: str
    financial_year: str
    source: str
    source_reference: str
    budget_line_id: uuid.UUID | None  # None: unallocated (no fitting budget line yet)
    dmd_id: str | None
    original_amount: Decimal
    amount: Decimal
    released_amount: Decimal
    status: str
    valid_from: date | None
    valid_until: date | None
    # IFR: the decision it rests on; a chair's action shows its ratification due date until ratified
    decision_id: uuid.UUID | None = None
    decision_number: int | None = None
    decision_basis: str | None = None
    ratification_due: date | None = None
    ratified_on: date | None = None
    recorded_at: datetime


@router.get("", response_model=list[CommitmentOut])
async def list_commitments(
    response: Response,
    uow: Uow,
    source_reference: str | None = None,
    provider: OdsCode | None = None,
    fy: str | None = None,
    source: str | None = None,
    status: str | None = None,
    unallocated: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = reader,
) -> list[CommitmentOut]:
    """A plain list (callers rely on its shape); the next page's cursor is in the `Next-Cursor` header."""
    query = select(Commitment)
    if (org := principal.org_filter()) is not None:
        query = query.where(Commitment.provider_ods.startswith(org))
    filters = {
        Commitment.source_reference: source_reference,
        Commitment.financial_year: fy,
        Commitment.source: source,
        Commitment.status: status,
    }
    query = query.where(*(column == value for column, value in filters.items() if value))
    if provider:
        query = query.where(Commitment.provider_ods.startswith(provider.upper()))
    if unallocated is not None:
        query = query.where(
            Commitment.budget_line_id.is_(None) if unallocated else Commitment.budget_line_id.is_not(None)
        )
    rows, next_cursor = await paginate(uow.session, query, (Commitment.recorded_at, Commitment.id), cursor, limit)
    if next_cursor:
        response.headers["Next-Cursor"] = next_cursor
    return [CommitmentOut.model_validate(r, from_attributes=True) for r in rows]
