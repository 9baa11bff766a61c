"""Clinician registration per trust; the trust's CDF lead confirms, declines or revokes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.auth import Principal, Role, ensure_visible, require_roles
from casework.concurrency import IfMatch, require_version, set_etag, stale_to_412
from casework.idempotency import IdempotentRequest
from casework.identifiers import OdsCode
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import Conflict, NotFound, field_problem
from cdf_service.access import CLINICIAN_READER_ROLES, REGISTRAR_ROLES
from cdf_service.api.common import from_row
from cdf_service.db.models import Clinician
from cdf_service.domain.clinicians import TRANSITIONS, RegistrationAction, RegistrationState, email_problem
from cdf_service.runtime import Runtime, Uow

router = APIRouter(prefix="/cdf/clinicians", tags=["clinicians"])


class ClinicianIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "trust_ods": "RRV",
                    "gmc_number": "4716250",
                    "name": "Dr Aisha Rahman",
                    "email": "aisha.rahman@nhs.net",
                    "specialty": "medical oncology",
                }
            ]
        }
    )
    trust_ods: OdsCode
    gmc_number: str = Field(pattern=r"^\d{7}$", description="GMC reference number (7 digits)")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    specialty: str = Field("medical oncology", min_length=1, max_length=60)


class Decision(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "GMC registration and the specialist register entry checked."}]}
    )
    note: str | None = Field(None, max_length=2000)


class ClinicianOut(BaseModel):
    id: uuid.UUID
    trust_ods: str
    gmc_number: str
    name: str
    email: str
    specialty: str
    status: RegistrationState
    registered_by: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime | None
    version: int
    allowed_actions: list[str]


def clinician_out(row: Clinician) -> ClinicianOut:
    return from_row(ClinicianOut, row, allowed_actions=TRANSITIONS.allowed(row.status))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClinicianOut, openapi_extra=IDEMPOTENT)
async def register(
    body: ClinicianIn,
    request: Request,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*REGISTRAR_ROLES)),
) -> Any:
    idem = IdempotentRequest(request, principal, body)
    if (previous := await idem.previous(uow)) is not None:
        return previous
    ensure_visible(principal, body.trust_ods, "trust", body.trust_ods)  # only at one's own trust
    if problem := email_problem(str(body.email), runtime.settings.clinician_email_domains):
        raise field_problem("email", problem)
    existing = await _find(uow.session, body.trust_ods, body.gmc_number)
    if existing is not None:
        raise Conflict(
            f"GMC {body.gmc_number} is already registered at {body.trust_ods} ({existing.status})",
            existing_id=str(existing.id),
        )
    row = Clinician(
        id=uuid.uuid4(),
        status=RegistrationState.PENDING.value,
        registered_by=principal.sub,
        created_at=datetime.now(UTC),
        **body.model_dump(mode="json"),
    )
    uow.session.add(row)
    try:
        await uow.session.flush()
    except IntegrityError:  # a concurrent twin won
        raise Conflict(f"GMC {body.gmc_number} is already registered at {body.trust_ods}") from None
    out = clinician_out(row)
    uow.audit(principal, "register", "cdf_clinician", row.id)
    await idem.remember(uow, status.HTTP_201_CREATED, out)
    if (first := await idem.commit_or_replay(uow)) is not None:
        return first
    set_etag(response, row.version)
    return out


async def _find(session: Any, trust_ods: str, gmc: str) -> Clinician | None:
    query = select(Clinician).where(Clinician.trust_ods == trust_ods, Clinician.gmc_number == gmc)
    return await session.scalar(query)


@router.get("", response_model=Page[ClinicianOut])
async def list_clinicians(
    uow: Uow,
    trust: OdsCode | None = None,
    status_: Annotated[RegistrationState | None, Query(alias="status")] = None,
    gmc: Annotated[str | None, Query(pattern=r"^\d{7}$")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Principal = Depends(require_roles(*CLINICIAN_READER_ROLES)),
) -> Page[ClinicianOut]:
    query = select(Clinician)
    if (own := principal.org_filter()) is not None:
        query = query.where(Clinician.trust_ods.startswith(own))
    if trust:
        query = query.where(Clinician.trust_ods == trust.upper())
    if status_:
        query = query.where(Clinician.status == status_.value)
    if gmc:
        query = query.where(Clinician.gmc_number == gmc)
    rows, next_cursor = await paginate(uow.session, query, (Clinician.trust_ods, Clinician.gmc_number), cursor, limit)
    return Page[ClinicianOut](items=[clinician_out(r) for r in rows], next_cursor=next_cursor)


@router.get("/{clinician_id}", response_model=ClinicianOut)
async def read_clinician(
    clinician_id: uuid.UUID,
    uow: Uow,
    response: Response,
    principal: Principal = Depends(require_roles(*CLINICIAN_READER_ROLES)),
) -> ClinicianOut:
    row = await _visible(uow.session, principal, clinician_id)
    set_etag(response, row.version)
    return clinician_out(row)


async def _visible(session: Any, principal: Principal, clinician_id: uuid.UUID) -> Clinician:
    row = await session.get(Clinician, clinician_id)
    if row is None:
        raise NotFound(f"clinician {clinician_id} not found")
    ensure_visible(principal, row.trust_ods, "clinician", clinician_id)
    return row


@router.post("/{clinician_id}/{action}", response_model=ClinicianOut)
async def decide(
    clinician_id: uuid.UUID,
    action: RegistrationAction,
    uow: Uow,
    response: Response,
    body: Decision | None = None,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(Role.TRUST_CDF_LEAD)),
) -> ClinicianOut:
    """confirm | decline (pending registrations) or revoke (confirmed ones): the trust's CDF lead only."""
    row = await _visible(uow.session, principal, clinician_id)
    require_version(if_match, row.version)
    row.status = TRANSITIONS.next_state(row.status, action)
    row.decided_by, row.decided_at = principal.sub, datetime.now(UTC)
    row.decision_note = body.note if body else None
    async with stale_to_412():
        await uow.session.flush()
    uow.audit(principal, action.value, "cdf_clinician", row.id, reason=row.decision_note)
    await uow.commit()
    set_etag(response, row.version)
    return clinician_out(row)
