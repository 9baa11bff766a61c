"""Prior-approval applications: decided in the same request, withdrawn by the trust, listed and audited
(the treatments SACT showed under them are in `treatments.py`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from casework import clock
from casework.auth import Principal, ensure_visible, require_roles
from casework.budget_impact import BudgetImpact
from casework.concurrency import IfMatch, set_etag
from casework.csv_export import csv_response
from casework.db import violated_constraint
from casework.events.catalogue.cdf import StopReason
from casework.idempotency import IdempotentRequest
from casework.identifiers import NhsNumber, OdsCode, patient_ref
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.patient_search import SEARCH_LIMIT, PatientSearch
from casework.problems import NotFound
from cdf_service.access import APPLICANT_ROLES, APPLICATION_READER_ROLES, WITHDRAW_ROLES
from cdf_service.api.common import from_row
from cdf_service.db import application_repo
from cdf_service.db.models import Application
from cdf_service.domain.prior_approval import (
    TRANSITIONS,
    ApplicationState,
)
from cdf_service.runtime import CdfUnitOfWork, Runtime, Uow
from cdf_service.use_cases.applications import ENTITY, duplicate_approval
from cdf_service.use_cases.applications import apply as apply_for_approval
from cdf_service.use_cases.applications import withdraw as withdraw_application

router = APIRouter(prefix="/cdf/applications", tags=["applications"])

LIVE_APPROVAL_CONSTRAINT = "uq_applications_live_patient_entry"  # one live approval per patient and entry


class ApplicationIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nhs_number": "9990000107",
                    "date_of_birth": "1958-03-14",
                    "provider_ods": "RRV",
                    "entry_id": "CDF-PEMBRO-NSCLC-1L",
                    "clinician_gmc": "4716250",
                    "answers": {"C1": True, "C2": True, "C3": True, "C4": True, "C5": True, "C6": True, "C9": False},
                    "planned_start": "2026-12-01",
                    "consent_confirmed": True,
                }
            ]
        }
    )
    nhs_number: NhsNumber
    date_of_birth: date
    provider_ods: OdsCode
    entry_id: str = Field(min_length=1, max_length=40, examples=["CDF-PEMBRO-NSCLC-1L"])
    clinician_gmc: str = Field(pattern=r"^\d{7}$", description="GMC number of the registered consultant applying")
    answers: dict[str, bool] = Field(description="criterion code -> confirmed; every criterion of the entry")
    planned_start: date
    consent_confirmed: bool
    budget_impact: BudgetImpact | None = Field(
        None,
        description="The what-if shown before applying (contract-service's GET /forecast-outturn/what-if for the "
        "entry's expected cost in the planned start's year), kept with the application as shown",
    )

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date) -> date:
        if value > clock.today() or value < clock.today() - timedelta(days=366 * 130):
            raise ValueError("date of birth must be in the past 130 years")
        return value


class Decision(BaseModel):
    approved: bool
    unmet_criteria: list[str]
    reasons: list[str]


class ApplicationOut(BaseModel):
    id: uuid.UUID
    reference: str
    status: ApplicationState
    decision: Decision
    provider_ods: str
    nhs_number: str
    date_of_birth: date
    patient_ref: str
    entry_id: str
    entry_version: int
    drug_name: str
    dmd_id: str
    indication: str
    clinician_gmc: str
    answers: dict[str, bool]
    consent_confirmed: bool
    planned_start: date
    lapse_due: date
    expected_cost: Decimal
    budget_impact: dict[str, Any] | None = Field(
        None, description="The budget what-if shown before applying, kept with the application as shown"
    )
    first_administration: date | None
    final_treatment_date: date | None
    stop_reason: str | None
    stop_reasons: list[StopReason] = Field(default_factory=list, description="every reason SACT gave for stopping")
    cycles_given: int
    closed_at: datetime | None
    close_reason: str | None
    created_at: datetime | None
    version: int
    allowed_actions: list[str]


class Withdrawal(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "The patient chose another treatment after discussion at the lung MDT."}]
        }
    )
    reason: str = Field(min_length=1, max_length=2000)


def application_out(app: Application) -> ApplicationOut:
    decision = Decision(approved=not app.reasons, unmet_criteria=app.unmet_criteria, reasons=app.reasons)
    return from_row(
        ApplicationOut,
        app,
        decision=decision,
        stop_reasons=app.stop_reasons or [],
        allowed_actions=TRANSITIONS.allowed(app.status),
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut, openapi_extra=IDEMPOTENT)
async def apply(
    body: ApplicationIn,
    request: Request,
    response: Response,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*APPLICANT_ROLES)),
) -> Any:
    """Approved at once when the entry is open on the planned start, every mandatory criterion is
    met and consent is confirmed; otherwise rejected naming every reason. Both are 201.

    The hot path: one read (Idempotency-Key, clinician, live approval), the list entry from the
    process's copy, and one write (application, event, forecast mark, audit row, idempotency record)."""
    settings = runtime.settings
    idem = IdempotentRequest(request, principal, body)
    ref = patient_ref(body.nhs_number, settings.patient_ref_key.get_secret_value())
    context = await application_repo.application_context(
        uow.session, body.provider_ods, body.clinician_gmc, ref, body.entry_id, idem.stored(uow.tables)
    )
    if (previous := idem.replay(context.stored)) is not None:
        return previous
    ensure_visible(principal, body.provider_ods, "provider", body.provider_ods)  # not for another trust
    app = await apply_for_approval(uow, runtime, body, context=context, patient_ref=ref, principal=principal)
    out = application_out(app)
    await idem.remember(uow, status.HTTP_201_CREATED, out)
    try:
        if (first := await idem.commit_or_replay(uow)) is not None:
            return first
    except IntegrityError as exc:
        if violated_constraint(exc) != LIVE_APPROVAL_CONSTRAINT:
            raise
        await uow.rollback()  # a concurrent twin approved first
        if (first := await idem.previous(uow)) is not None:  # the same request again: its answer
            return first
        existing = await application_repo.live_approval_id(uow.session, ref, app.entry_id)
        raise duplicate_approval(existing, app.entry_id) from None
    set_etag(response, app.version)
    return out


# --- reading ---------------------------------------------------------------------------------------


class Filters(BaseModel):
    status: ApplicationState | None = None
    entry_id: str | None = Field(None, max_length=40)
    provider: OdsCode | None = None
    clinician_gmc: str | None = Field(None, pattern=r"^\d{7}$")
    planned_from: date | None = None
    planned_to: date | None = None


def _filtered(filters: Filters, principal: Principal) -> Select[Application]:
    query = select(Application)
    if (own := principal.org_filter()) is not None:
        query = query.where(Application.provider_ods.startswith(own))
    if filters.provider:
        query = query.where(Application.provider_ods == filters.provider)
    if filters.status:
        query = query.where(Application.status == filters.status.value)
    if filters.entry_id:
        query = query.where(Application.entry_id == filters.entry_id)
    if filters.clinician_gmc:
        query = query.where(Application.clinician_gmc == filters.clinician_gmc)
    if filters.planned_from:
        query = query.where(Application.planned_start >= filters.planned_from)
    if filters.planned_to:
        query = query.where(Application.planned_start <= filters.planned_to)
    return query


@router.post("/search", response_model=Page[ApplicationOut])
async def search_applications(
    body: PatientSearch,
    uow: Uow,
    runtime: Runtime,
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> Page[ApplicationOut]:
    """The applications in the caller's view for one patient (`nhs_number`) or one `reference` (at most
    100), newest first. The NHS number travels in the body, never in a URL, so no access log holds it."""
    query = _filtered(Filters(), principal)
    if body.nhs_number is not None:
        key = runtime.settings.patient_ref_key.get_secret_value()
        query = query.where(Application.patient_ref == patient_ref(body.nhs_number, key))
    else:
        query = query.where(func.upper(Application.reference) == (body.reference or "").strip().upper())
    order = (Application.created_at.desc(), Application.id.desc())
    rows = (await uow.session.scalars(query.order_by(*order).limit(SEARCH_LIMIT))).all()
    body.audit(uow, principal, ENTITY, [str(r.id) for r in rows])
    await uow.commit()
    return Page[ApplicationOut](items=[application_out(r) for r in rows], next_cursor=None)


@router.get("", response_model=Page[ApplicationOut])
async def list_applications(
    uow: Uow,
    filters: Annotated[Filters, Query()],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> Page[ApplicationOut]:
    query = _filtered(filters, principal)
    rows, next_cursor = await paginate(uow.session, query, (Application.created_at, Application.id), cursor, limit)
    uow.audit(principal, "list", ENTITY, "*", detail={"ids": [str(r.id) for r in rows]})
    await uow.commit()
    return Page[ApplicationOut](items=[application_out(r) for r in rows], next_cursor=next_cursor)


EXPORT_COLUMNS = (
    "reference",
    "status",
    "provider_ods",
    "entry_id",
    "entry_version",
    "drug_name",
    "clinician_gmc",
    "planned_start",
    "lapse_due",
    "expected_cost",
    "first_administration",
    "final_treatment_date",
    "stop_reason",
    "cycles_given",
    "created_at",
)


@router.get(".csv", response_class=StreamingResponse)
async def export_applications(
    uow: Uow,
    filters: Annotated[Filters, Query()],
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> StreamingResponse:
    """The filtered applications for a spreadsheet (no NHS numbers; the reference identifies each)."""
    query = _filtered(filters, principal)
    rows = (await uow.session.scalars(query.order_by(Application.created_at, Application.id).limit(100_000))).all()
    uow.audit(principal, "export", ENTITY, "*", detail={"count": len(rows)})
    await uow.commit()
    return csv_response(
        EXPORT_COLUMNS, [{c: getattr(r, c) for c in EXPORT_COLUMNS} for r in rows], "cdf-applications.csv"
    )


async def _visible(uow: CdfUnitOfWork, principal: Principal, application_id: uuid.UUID) -> Application:
    app = await uow.session.get(Application, application_id)
    if app is None:
        raise NotFound(f"application {application_id} not found")
    ensure_visible(principal, app.provider_ods, "application", application_id)
    return app


@router.get("/{application_id}", response_model=ApplicationOut)
async def read_application(
    application_id: uuid.UUID,
    uow: Uow,
    response: Response,
    principal: Principal = Depends(require_roles(*APPLICATION_READER_ROLES)),
) -> ApplicationOut:
    app = await _visible(uow, principal, application_id)
    uow.audit(principal, "read", ENTITY, app.id)
    await uow.commit()
    set_etag(response, app.version)
    return application_out(app)


@router.post("/{application_id}/withdraw", response_model=ApplicationOut)
async def withdraw(
    application_id: uuid.UUID,
    body: Withdrawal,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*WITHDRAW_ROLES)),
) -> ApplicationOut:
    app = await _visible(uow, principal, application_id)
    await withdraw_application(uow, app, reason=body.reason, if_match=if_match, principal=principal)
    await uow.commit()
    set_etag(response, app.version)
    return application_out(app)
