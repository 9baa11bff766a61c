"""The treatments SACT showed under prior approvals: their start and stop dates, cycles and stop reasons,
listed and exported (a trust sees its own)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select

from casework.auth import Principal, require_roles
from casework.csv_export import csv_response
from casework.events.catalogue.cdf import StopReason
from casework.identifiers import OdsCode
from casework.pagination import Page, paginate
from cdf_service.access import APPLICATION_READER_ROLES
from cdf_service.api.common import from_row
from cdf_service.db.models import Application, TreatmentCycle
from cdf_service.domain.prior_approval import ApplicationState
from cdf_service.runtime import CdfUnitOfWork, Uow

router = APIRouter(prefix="/cdf/treatments", tags=["treatments"])


class TreatmentOut(BaseModel):
    application_id: uuid.UUID
    reference: str
    status: ApplicationState
    provider_ods: str
    patient_ref: str
    entry_id: str
    drug_name: str
    planned_start: date
    first_administration: date
    final_treatment_date: date | None
    stop_reason: str | None
    stop_reasons: list[StopReason] = Field(default_factory=list, description="every reason SACT gave for stopping")
    cycles_given: int
    cycles_dispensed: int = Field(
        description="of cycles_given, those an oral drug was dispensed for (not confirmed taken)"
    )
    cost_to_date: Decimal


class TreatmentFilters(BaseModel):
    provider: OdsCode | None = None
    entry_id: str | None = Field(None, max_length=40)
    running: bool | None = Field(None, description="true: still on treatment; false: stopped")


def _treatments(filters: TreatmentFilters, principal: Principal) -> Select[Application]:
    query = select(Application).where(Application.first_administration.is_not(None))
    if (own := principal.org_filter()) is not None:
        query = query.where(Application.provider_ods.startswith(own))
    if filters.provider:
        query = query.where(Application.provider_ods == filters.provider)
    if filters.entry_id:
        query = query.where(Application.entry_id == filters.entry_id)
    if filters.running is not None:
        stopped = Application.final_treatment_date
        query = query.where(stopped.is_(None) if filters.running else stopped.is_not(None))
    return query


async def _treatment_rows(uow: CdfUnitOfWork, rows: Sequence[Application]) -> list[TreatmentOut]:
    dispensed = await _cycles_dispensed(uow, [r.id for r in rows])
    return [
        from_row(
            TreatmentOut,
            r,
            application_id=r.id,
            stop_reasons=r.stop_reasons or [],
            cycles_dispensed=dispensed.get(r.id, 0),
            cost_to_date=r.cost_per_cycle * r.cycles_given,
        )
        for r in rows
    ]


@router.get("", response_model=Page[TreatmentOut])
async def list_treatments(
    uow: Uow,
    filters: Annotated[TreatmentFilters, Query()],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> Page[TreatmentOut]:
    """Approved treatments SACT has shown starting: first administration, cycles, stop date and reason."""
    query = _treatments(filters, principal)
    rows, next_cursor = await paginate(uow.session, query, (Application.created_at, Application.id), cursor, limit)
    uow.audit(principal, "list", "cdf_treatment", "*", detail={"ids": [str(r.id) for r in rows]})
    await uow.commit()
    return Page[TreatmentOut](items=await _treatment_rows(uow, rows), next_cursor=next_cursor)


TREATMENT_COLUMNS = tuple(c for c in TreatmentOut.model_fields if c not in ("application_id", "patient_ref"))


@router.get(".csv", response_class=StreamingResponse)
async def export_treatments(
    uow: Uow,
    filters: Annotated[TreatmentFilters, Query()],
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> StreamingResponse:
    """The filtered treatments for a spreadsheet (no patient identifiers; the reference names each;
    every stop reason, separated by semicolons)."""
    query = _treatments(filters, principal).order_by(Application.created_at, Application.id).limit(100_000)
    rows = await _treatment_rows(uow, (await uow.session.scalars(query)).all())
    uow.audit(principal, "export", "cdf_treatment", "*", detail={"count": len(rows)})
    await uow.commit()
    records = [r.model_dump(include=set(TREATMENT_COLUMNS)) | {"stop_reasons": ";".join(r.stop_reasons)} for r in rows]
    return csv_response(TREATMENT_COLUMNS, records, "cdf-treatments.csv")


async def _cycles_dispensed(uow: Any, application_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per application, its matched cycles an oral drug was dispensed for (SACT v4.0 item 81)."""
    if not application_ids:
        return {}
    query = (
        select(TreatmentCycle.application_id, func.count())
        .where(TreatmentCycle.application_id.in_(application_ids), TreatmentCycle.dispensed)
        .group_by(TreatmentCycle.application_id)
    )
    return {app_id: count for app_id, count in (await uow.session.execute(query)).all()}
