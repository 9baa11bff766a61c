"""Unapproved use as a worklist: each detection (a listed drug SACT showed given with no approval) with
the patient, drug, list entries, first administration and the submission row it came from; the trust
answers, the commissioner accepts or challenges, then closes (domain.unapproved_use)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, any_, select

from casework.auth import Principal, Role, ensure_visible, require_roles
from casework.concurrency import IfMatch, require_version, set_etag
from casework.csv_export import csv_response
from casework.identifiers import OdsCode
from casework.pagination import Page, paginate
from casework.problems import NotFound, field_problem
from cdf_service.access import (
    NHS_NUMBER_READER_ROLES,
    UNAPPROVED_USE_ANSWER_ROLES,
    UNAPPROVED_USE_DECIDE_ROLES,
    UNAPPROVED_USE_READER_ROLES,
)
from cdf_service.api.common import from_row
from cdf_service.db.models import UnapprovedUse
from cdf_service.domain.unapproved_use import (
    COMMISSIONER_ACTIONS,
    TRANSITIONS,
    TRUST_ACTIONS,
    DetectionAction,
    DetectionState,
)
from cdf_service.runtime import CdfUnitOfWork, Uow
from cdf_service.use_cases.unapproved_use import ENTITY, step
from cdf_service.use_cases.unapproved_use import answer as answer_detection

router = APIRouter(prefix="/cdf/unapproved-uses", tags=["unapproved use"])


class DetectionOut(BaseModel):
    id: uuid.UUID
    status: DetectionState
    provider_ods: str
    patient_ref: str
    nhs_number: str | None = Field(description="shown to the trust's own users and CDF managers only")
    drug_name: str
    dmd_id: str | None
    entry_ids: list[str]
    regimen_start: date
    first_administration: date
    cycles: int
    submission_id: uuid.UUID
    row_no: int | None
    approval_reference: str | None
    application_id: uuid.UUID | None
    explanation: str | None
    answered_by: str | None
    answered_at: datetime | None
    decision_note: str | None
    decided_by: str | None
    decided_at: datetime | None
    closed_at: datetime | None
    created_at: datetime | None
    version: int
    allowed_actions: list[str] = Field(description="every action the state allows")
    your_actions: list[str] = Field(description="of those, the ones the caller may take")


class Answer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "approval_reference": "CDF-3F2A9C1B7E",
                    "explanation": "Given under the approval of 4 May 2026; the SACT row gave the brand name.",
                }
            ]
        }
    )
    approval_reference: str | None = Field(None, max_length=30, description="the approval that covers the use")
    explanation: str | None = Field(None, max_length=4000, description="why the drug was given with no approval")


class Acceptance(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "The trust's explanation is accepted; no charge is challenged."}]}
    )
    note: str | None = Field(None, max_length=4000)


class Challenge(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "No CDF approval covers this patient's pembrolizumab from May 2026."}]
        }
    )
    reason: str = Field(min_length=1, max_length=4000)


def _sees_patients(principal: Principal, use: UnapprovedUse) -> bool:
    own_trust = not principal.is_commissioner and use.provider_ods.upper().startswith(principal.org.upper())
    return own_trust or bool(principal.roles & NHS_NUMBER_READER_ROLES)


def _your_actions(principal: Principal, state: str) -> list[str]:
    allowed = TRANSITIONS.allowed(state)
    mine: set[str] = set()
    if principal.has_any(UNAPPROVED_USE_ANSWER_ROLES) or principal.has_any([Role.ADMIN]):
        mine |= {str(a) for a in TRUST_ACTIONS}
    if principal.has_any(UNAPPROVED_USE_DECIDE_ROLES) or principal.has_any([Role.ADMIN]):
        mine |= {str(a) for a in COMMISSIONER_ACTIONS}
    return [a for a in allowed if a in mine]


def detection_out(use: UnapprovedUse, principal: Principal) -> DetectionOut:
    return from_row(
        DetectionOut,
        use,
        drug_name=use.drug_name or use.drug_key,
        nhs_number=use.nhs_number if _sees_patients(principal, use) else None,
        entry_ids=list(use.entry_ids or []),
        allowed_actions=TRANSITIONS.allowed(use.status),
        your_actions=_your_actions(principal, use.status),
    )


class Filters(BaseModel):
    status: list[DetectionState] = Field(default_factory=list)
    provider: OdsCode | None = None
    entry_id: str | None = Field(None, max_length=40)
    drug: str | None = Field(None, max_length=200, description="drug name, any case")
    submission_id: uuid.UUID | None = None
    administered_from: date | None = None
    administered_to: date | None = None


def _filtered(filters: Filters, principal: Principal) -> Select[UnapprovedUse]:
    query = select(UnapprovedUse)
    if (own := principal.org_filter()) is not None:
        query = query.where(UnapprovedUse.provider_ods.startswith(own))
    if filters.provider:
        query = query.where(UnapprovedUse.provider_ods == filters.provider)
    if filters.status:
        query = query.where(UnapprovedUse.status.in_([s.value for s in filters.status]))
    if filters.entry_id:
        query = query.where(any_(UnapprovedUse.entry_ids) == filters.entry_id)
    if filters.drug:
        query = query.where(UnapprovedUse.drug_key == filters.drug.strip().lower())
    if filters.submission_id:
        query = query.where(UnapprovedUse.submission_id == filters.submission_id)
    if filters.administered_from:
        query = query.where(UnapprovedUse.first_administration >= filters.administered_from)
    if filters.administered_to:
        query = query.where(UnapprovedUse.first_administration <= filters.administered_to)
    return query


@router.get("", response_model=Page[DetectionOut])
async def list_detections(
    uow: Uow,
    filters: Annotated[Filters, Query()],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_READER_ROLES)),
) -> Page[DetectionOut]:
    """The trust's detections (a commissioner: every trust's), oldest first, cursor-paged."""
    query = _filtered(filters, principal)
    rows, next_cursor = await paginate(uow.session, query, (UnapprovedUse.created_at, UnapprovedUse.id), cursor, limit)
    uow.audit(principal, "list", ENTITY, "*", detail={"ids": [str(r.id) for r in rows]})
    await uow.commit()
    return Page[DetectionOut](items=[detection_out(r, principal) for r in rows], next_cursor=next_cursor)


EXPORT_COLUMNS = (
    "id",
    "status",
    "provider_ods",
    "drug_name",
    "dmd_id",
    "entry_ids",
    "regimen_start",
    "first_administration",
    "cycles",
    "submission_id",
    "row_no",
    "approval_reference",
    "explanation",
    "decision_note",
    "created_at",
)


@router.get(".csv", response_class=StreamingResponse)
async def export_detections(
    uow: Uow,
    filters: Annotated[Filters, Query()],
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_READER_ROLES)),
) -> StreamingResponse:
    """The filtered detections for a spreadsheet (no NHS numbers: the id and the submission row identify each)."""
    query = _filtered(filters, principal).order_by(UnapprovedUse.created_at, UnapprovedUse.id).limit(100_000)
    rows = (await uow.session.scalars(query)).all()
    uow.audit(principal, "export", ENTITY, "*", detail={"count": len(rows)})
    await uow.commit()
    out = [{c: getattr(detection_out(r, principal), c) for c in EXPORT_COLUMNS} for r in rows]
    for row in out:
        row["entry_ids"] = " ".join(row["entry_ids"])
    return csv_response(EXPORT_COLUMNS, out, "cdf-unapproved-use.csv")


async def _visible(uow: CdfUnitOfWork, principal: Principal, detection_id: uuid.UUID) -> UnapprovedUse:
    use = await uow.session.scalar(select(UnapprovedUse).where(UnapprovedUse.id == detection_id))
    if use is None:
        raise NotFound(f"unapproved use {detection_id} not found")
    ensure_visible(principal, use.provider_ods, "unapproved use", detection_id)  # another trust's: 404
    return use


@router.get("/{detection_id}", response_model=DetectionOut)
async def read_unapproved_use(
    detection_id: uuid.UUID,
    uow: Uow,
    response: Response,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_READER_ROLES)),
) -> DetectionOut:
    use = await _visible(uow, principal, detection_id)
    uow.audit(principal, "read", ENTITY, use.id)
    await uow.commit()
    set_etag(response, use.version)
    return detection_out(use, principal)


async def _current(
    uow: CdfUnitOfWork, principal: Principal, detection_id: uuid.UUID, if_match: str | None
) -> UnapprovedUse:
    """The detection the caller may see, at the version the caller read (a stale page hears so first)."""
    use = await _visible(uow, principal, detection_id)
    require_version(if_match, use.version)
    return use


async def _step(
    uow: CdfUnitOfWork,
    principal: Principal,
    response: Response,
    use: UnapprovedUse,
    action: DetectionAction,
    **changes: Any,
) -> DetectionOut:
    """One move of the table on a detection read with `_current`, saved with its event and audit row."""
    await step(uow, principal, use, action=action, **changes)
    return await _saved(uow, principal, response, use)


async def _saved(uow: CdfUnitOfWork, principal: Principal, response: Response, use: UnapprovedUse) -> DetectionOut:
    await uow.commit()
    set_etag(response, use.version)
    return detection_out(use, principal)


@router.post("/{detection_id}/answer", response_model=DetectionOut)
async def answer(
    detection_id: uuid.UUID,
    body: Answer,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_ANSWER_ROLES)),
) -> DetectionOut:
    """The trust's answer: the approval reference that covers the use (checked: this trust, patient and drug,
    approved or treated under it; the detection is linked to it), or a written explanation."""
    use = await _current(uow, principal, detection_id, if_match)  # before its answer is judged
    await answer_detection(
        uow, use, approval_reference=body.approval_reference, explanation=body.explanation, principal=principal
    )
    return await _saved(uow, principal, response, use)


@router.post("/{detection_id}/accept", response_model=DetectionOut)
async def accept(
    detection_id: uuid.UUID,
    body: Acceptance,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_DECIDE_ROLES)),
) -> DetectionOut:
    """The commissioner accepts the trust's answer."""
    return await _decide(uow, principal, response, detection_id, if_match, DetectionAction.ACCEPT, body.note)


@router.post("/{detection_id}/challenge", response_model=DetectionOut)
async def challenge(
    detection_id: uuid.UUID,
    body: Challenge,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_DECIDE_ROLES)),
) -> DetectionOut:
    """The commissioner challenges the answer, giving the reason (the trust may answer again)."""
    if not body.reason.strip():
        raise field_problem("reason", "give the reason for the challenge")
    return await _decide(uow, principal, response, detection_id, if_match, DetectionAction.CHALLENGE, body.reason)


async def _decide(
    uow: CdfUnitOfWork,
    principal: Principal,
    response: Response,
    detection_id: uuid.UUID,
    if_match: str | None,
    action: DetectionAction,
    note: str | None,
) -> DetectionOut:
    decided = {
        "decision_note": (note or "").strip() or None,
        "decided_by": principal.sub,
        "decided_at": datetime.now(UTC),
    }
    use = await _current(uow, principal, detection_id, if_match)
    return await _step(uow, principal, response, use, action, **decided)


@router.post("/{detection_id}/close", response_model=DetectionOut)
async def close(
    detection_id: uuid.UUID,
    body: Acceptance,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*UNAPPROVED_USE_DECIDE_ROLES)),
) -> DetectionOut:
    """The commissioner closes an accepted or challenged detection."""
    changes: dict[str, Any] = {"closed_at": datetime.now(UTC)}
    if note := (body.note or "").strip():
        changes["decision_note"] = note
    use = await _current(uow, principal, detection_id, if_match)
    return await _step(uow, principal, response, use, DetectionAction.CLOSE, **changes)
