"""Derogations from service specifications: action plans, due dates and a status machine."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from casework import clock
from casework.auth import Principal, ensure_visible
from casework.concurrency import IfMatch, require_version, set_etag, stale_to_412
from casework.idempotency import IdempotentRequest
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import NotFound, field_problem
from contract_service.api.access import commissioner, reader
from contract_service.api.common import created
from contract_service.api.contracts import load_contract
from contract_service.db.models import Derogation
from contract_service.domain.derogations import (
    DEROGATION_MACHINE,
    DerogationAction,
    DerogationStatus,
    check_new_due_date,
    is_overdue,
)
from contract_service.runtime import Uow

router = APIRouter(tags=["derogations"])


class PlannedAction(BaseModel):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=200)
    due_date: date


class DerogationIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service_specification": "170004/S",
                    "description": "The chemotherapy day unit opens 5 days a week; the specification asks for 6.",
                    "action_plan": [
                        {
                            "action": "Recruit two chemotherapy nurses",
                            "owner": "Head of cancer nursing",
                            "due_date": "2026-09-30",
                        },
                        {
                            "action": "Open Saturday sessions",
                            "owner": "Cancer services manager",
                            "due_date": "2026-12-01",
                        },
                    ],
                    "due_date": "2026-12-31",
                }
            ]
        }
    )
    service_specification: str = Field(min_length=1, max_length=100, examples=["170004/S"])
    description: str = Field(min_length=1, max_length=5000)
    action_plan: list[PlannedAction] = Field(min_length=1, max_length=100)
    due_date: date


class DerogationActionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "note": "Recruitment took longer than planned; Saturday sessions now start in January.",
                    "due_date": "2027-01-31",
                }
            ]
        }
    )
    note: str | None = Field(None, max_length=5000)
    due_date: date | None = Field(None, description="the new due date (extend, agree-recovery)")


class DerogationOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    provider_ods: str
    service_specification: str
    description: str
    action_plan: list[PlannedAction]
    due_date: date
    status: str
    overdue: bool
    allowed_actions: list[str]
    history: list[dict[str, Any]]
    version: int


def _out(derogation: Derogation) -> DerogationOut:
    return DerogationOut(
        id=derogation.id,
        contract_id=derogation.contract_id,
        provider_ods=derogation.provider_ods,
        service_specification=derogation.service_specification,
        description=derogation.description,
        action_plan=[PlannedAction.model_validate(a) for a in derogation.action_plan],
        due_date=derogation.due_date,
        status=derogation.status,
        overdue=is_overdue(derogation.status, derogation.due_date, clock.today()),
        allowed_actions=DEROGATION_MACHINE.allowed(derogation.status),
        history=derogation.history,
        version=derogation.version,
    )


@router.post(
    "/contracts/{contract_id}/derogations",
    status_code=status.HTTP_201_CREATED,
    response_model=DerogationOut,
    openapi_extra=IDEMPOTENT,
)
async def propose_derogation(
    contract_id: uuid.UUID,
    body: DerogationIn,
    request: Request,
    response: Response,
    uow: Uow,
    principal: Principal = commissioner,
) -> Any:
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    contract = await load_contract(uow, contract_id, principal)
    derogation = Derogation(
        id=uuid.uuid4(),
        contract_id=contract.id,
        provider_ods=contract.provider_ods,
        service_specification=body.service_specification,
        description=body.description,
        action_plan=[a.model_dump(mode="json") for a in body.action_plan],
        due_date=body.due_date,
        status=DerogationStatus.PROPOSED,
        history=[_entry(principal, "propose", None, body.due_date)],
    )
    uow.session.add(derogation)
    await uow.session.flush()
    uow.audit(principal, "create", "derogation", derogation.id)
    out = _out(derogation)
    return await created(uow, idempotent, response, out, derogation.version)


@router.get("/contracts/{contract_id}/derogations", response_model=Page[DerogationOut])
async def list_derogations(
    contract_id: uuid.UUID,
    uow: Uow,
    status_filter: DerogationStatus | None = Query(None, alias="status"),
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = reader,
) -> Page[DerogationOut]:
    await load_contract(uow, contract_id, principal)
    query = select(Derogation).where(Derogation.contract_id == contract_id)
    if status_filter is not None:
        query = query.where(Derogation.status == status_filter)
    rows, next_cursor = await paginate(uow.session, query, (Derogation.due_date, Derogation.id), cursor, limit)
    return Page(items=[_out(r) for r in rows], next_cursor=next_cursor)


async def _load(uow: Uow, derogation_id: uuid.UUID, principal: Principal) -> Derogation:
    derogation = await uow.session.get(Derogation, derogation_id)
    if derogation is None:
        raise NotFound(f"derogation {derogation_id} not found")
    ensure_visible(principal, derogation.provider_ods, "derogation", derogation_id)
    return derogation


@router.get("/derogations/{derogation_id}", response_model=DerogationOut)
async def read_derogation(
    derogation_id: uuid.UUID, response: Response, uow: Uow, principal: Principal = reader
) -> DerogationOut:
    derogation = await _load(uow, derogation_id, principal)
    set_etag(response, derogation.version)
    return _out(derogation)


def _entry(principal: Principal, action: str, note: str | None, due: date | None) -> dict[str, Any]:
    return {
        "action": action,
        "by": principal.sub,
        "at": datetime.now(UTC).isoformat(),
        "note": note,
        "due_date": due.isoformat() if due else None,
    }


@router.post("/derogations/{derogation_id}/{action}", response_model=DerogationOut)
async def act_on_derogation(
    derogation_id: uuid.UUID,
    action: DerogationAction,
    body: DerogationActionIn,
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = commissioner,
) -> DerogationOut:
    derogation = await _load(uow, derogation_id, principal)
    require_version(if_match, derogation.version)
    new_status = DEROGATION_MACHINE.next_state(derogation.status, action)
    if problem := check_new_due_date(action, derogation.due_date, body.due_date):
        raise field_problem("due_date", problem)
    derogation.status = new_status
    if body.due_date is not None:
        derogation.due_date = body.due_date
    derogation.history = [*derogation.history, _entry(principal, action, body.note, body.due_date)]
    async with stale_to_412():
        await uow.session.flush()
    uow.audit(principal, action, "derogation", derogation.id, reason=body.note)
    await uow.commit()
    set_etag(response, derogation.version)
    return _out(derogation)
