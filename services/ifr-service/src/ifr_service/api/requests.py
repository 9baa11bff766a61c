"""IFR requests: drafts, the case, worklists and their CSV export, assignment."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, func, select

from casework.auth import Principal, require_roles
from casework.clock import today
from casework.concurrency import IfMatch, require_version, set_etag, stale_to_412
from casework.csv_export import csv_response
from casework.idempotency import IdempotentRequest
from casework.identifiers import OdsCode
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.patient_search import SEARCH_LIMIT, PatientSearch
from casework.problems import Conflict, Unprocessable
from casework.working_days import add_working_days
from ifr_service.access import APPLICANT_ROLES, OFFICER_ROLES, PROVIDER_ROLES, READER_ROLES, is_staff, visible_cases
from ifr_service.api.examples import APPLICATION_EXAMPLE, DRAFT_CHANGES_EXAMPLE
from ifr_service.api.schemas import CaseOut, CaseSummaryOut, alert_ref, case_out, summary_fields, summary_out
from ifr_service.db.models import IfrRequest
from ifr_service.db.panels import standing_budget_impact
from ifr_service.domain.application import Application, merge
from ifr_service.domain.case import RATIFICATION_STATES, STAGE_OF, CaseState, Stage
from ifr_service.domain.regions import Region
from ifr_service.runtime import IfrUnitOfWork, Uow
from ifr_service.use_cases.case_actions import actions_for
from ifr_service.use_cases.cohorts import open_alert_for
from ifr_service.use_cases.workflow import apply_application, case_clocks, check_trust, get_case, new_reference

router = APIRouter(prefix="/ifr/requests", tags=["requests"])
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]


async def respond(uow: IfrUnitOfWork, case: IfrRequest, response: Response, principal: Principal) -> CaseOut:
    set_etag(response, case.version)
    on = today()
    alert = await open_alert_for(uow, case, on)
    clocks, shown = await case_clocks(uow, case.id), await standing_budget_impact(uow.session, case.id)
    out = case_out(case, clocks, on, uow.settings.deadline_warning_days, shown, in_cohort=alert is not None)
    if alert is not None and is_staff(principal):
        out.open_cohort_alert = alert_ref(alert)
    out.your_actions = await actions_for(uow, principal, case, allowed=out.allowed_actions)
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseOut, openapi_extra=IDEMPOTENT)
async def create_draft(
    body: Annotated[
        Application,
        Body(
            openapi_examples={
                "complete": {"summary": "a complete application", "value": APPLICATION_EXAMPLE},
                "partial": {"summary": "a draft to finish later", "value": {"patient": {"name": "Alex Example"}}},
            }
        ),
    ],
    request: Request,
    response: Response,
    uow: Uow,
    principal: Principal = Depends(require_roles(*APPLICANT_ROLES)),
) -> Any:
    """Open a draft request; any part of the form may be left for later (it is checked on submit)."""
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    check_trust(principal, body)
    case = IfrRequest(
        id=uuid.uuid4(),
        reference=await new_reference(uow),
        state=CaseState.DRAFT,
        source="rest",
        intake_problems=[],
        created_by=principal.sub,
        provider_ods=principal.org if principal.has_any(PROVIDER_ROLES) else None,
    )
    apply_application(case, body, uow.settings.trust_regions)
    uow.session.add(case)
    await uow.session.flush()
    uow.audit(principal, "create", "ifr_request", case.id, detail={"reference": case.reference})
    out = await respond(uow, case, response, principal)
    await idempotent.remember(uow, status.HTTP_201_CREATED, out.model_dump(mode="json"))
    if (first := await idempotent.commit_or_replay(uow)) is not None:
        return first
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"ETag": response.headers["ETag"]})


@router.patch("/{request_id}", response_model=CaseOut)
async def update_draft(
    request_id: uuid.UUID,
    changes: Annotated[dict[str, Any], Body(examples=[DRAFT_CHANGES_EXAMPLE])],
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*APPLICANT_ROLES)),
) -> CaseOut:
    """Change parts of a draft (sections are merged field by field)."""
    case = await get_case(uow, request_id, principal)
    require_version(if_match, case.version)
    if case.state != CaseState.DRAFT:
        raise Conflict(
            "only a draft can be edited; send new information with provide-information",
            current_state=case.state,
        )
    try:
        application = merge(Application.model_validate(case.application), changes)
    except ValidationError as exc:
        raise Unprocessable(
            "the changes are not valid",
            errors=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()],
        ) from None
    check_trust(principal, application)
    async with stale_to_412():
        apply_application(case, application, uow.settings.trust_regions)
        uow.audit(principal, "update", "ifr_request", case.id, detail={"fields": sorted(changes)})
        await uow.session.flush()
        out = await respond(uow, case, response, principal)
        await uow.commit()
    return out


class Worklist(BaseModel):
    state: list[CaseState] | None = None
    stage: Stage | None = None
    trust: OdsCode | None = None
    region: Region | None = None
    urgency: str | None = Field(None, pattern="^(routine|urgent)$")
    officer: str | None = None
    due_before: date | None = None
    overdue: bool | None = None
    awaiting_ratification: bool | None = None


def worklist_query(principal: Principal, f: Worklist) -> Select[Any]:
    query = visible_cases(select(IfrRequest), principal)
    states = [s.value for s in f.state or []]
    if f.stage is not None:
        in_stage = [s.value for s, stage in STAGE_OF.items() if stage == f.stage]
        states = [s for s in states if s in in_stage] if states else in_stage
    if states or f.state:
        query = query.where(IfrRequest.state.in_(states))
    if f.trust:
        query = query.where(IfrRequest.provider_ods.startswith(f.trust.upper()))
    if f.region:
        query = query.where(IfrRequest.region == f.region)
    if f.urgency:
        query = query.where(IfrRequest.urgent.is_(f.urgency == "urgent"))
    if f.officer:
        query = query.where(IfrRequest.assigned_to == f.officer)
    if f.due_before:
        query = query.where(IfrRequest.next_due < f.due_before)
    if f.overdue is True:
        query = query.where(IfrRequest.next_due < today())
    elif f.overdue is False:
        query = query.where((IfrRequest.next_due.is_(None)) | (IfrRequest.next_due >= today()))
    if f.awaiting_ratification is not None:
        waiting = IfrRequest.state.in_([str(s) for s in RATIFICATION_STATES])
        query = query.where(waiting if f.awaiting_ratification else ~waiting)
    return query


def worklist(
    state: Annotated[list[CaseState] | None, Query()] = None,
    stage: Stage | None = None,
    trust: OdsCode | None = None,
    region: Annotated[Region | None, Query(description="the providers' commissioning region")] = None,
    urgency: Annotated[str | None, Query(pattern="^(routine|urgent)$")] = None,
    officer: str | None = None,
    due_before: date | None = None,
    overdue: bool | None = None,
    awaiting_ratification: Annotated[
        bool | None, Query(description="chair's actions the panel has not yet ratified or overturned")
    ] = None,
) -> Worklist:
    return Worklist(
        state=state,
        stage=stage,
        trust=trust,
        region=region,
        urgency=urgency,
        officer=officer,
        due_before=due_before,
        overdue=overdue,
        awaiting_ratification=awaiting_ratification,
    )


class WorklistSummary(BaseModel):
    total: int
    by_stage: dict[str, int]
    overdue: int
    due_soon: int = Field(description="Running clocks due within the warning days (and not yet overdue)")
    awaiting_information: int


@router.get("/summary", response_model=WorklistSummary)
async def summarise_cases(
    uow: Uow, principal: Reader, filters: Annotated[Worklist, Depends(worklist)]
) -> WorklistSummary:
    """Counts for the worklist the same filters give: by stage, overdue, due soon, waiting for information."""
    query = worklist_query(principal, filters).subquery()
    on = today()
    soon = add_working_days(on, uow.settings.deadline_warning_days)
    rows = (
        await uow.session.execute(
            select(
                query.c.state,
                func.count().label("cases"),
                func.count().filter(query.c.next_due < on).label("overdue"),
                func.count().filter(query.c.next_due >= on, query.c.next_due <= soon).label("due_soon"),
            ).group_by(query.c.state)
        )
    ).all()
    by_stage: dict[str, int] = {str(stage): 0 for stage in Stage}
    for row in rows:
        by_stage[STAGE_OF[CaseState(row.state)]] += row.cases
    return WorklistSummary(
        total=sum(r.cases for r in rows),
        by_stage=by_stage,
        overdue=sum(r.overdue for r in rows),
        due_soon=sum(r.due_soon for r in rows),
        awaiting_information=sum(r.cases for r in rows if r.state == CaseState.RETURNED_FOR_INFORMATION),
    )


class CaseSearchIn(PatientSearch):
    """Find cases by the patient's NHS number or the case reference. The NHS number travels in the body,
    never in a URL, so it is not written to access logs."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"nhs_number": "9990000018"}, {"reference": "IFR-2026-000123"}]}
    )


@router.post("/search", response_model=Page[CaseSummaryOut])
async def search_cases(body: CaseSearchIn, uow: Uow, principal: Reader) -> Page[CaseSummaryOut]:
    """The cases in the caller's view for one patient or one reference (at most 100), newest first."""
    query = visible_cases(select(IfrRequest), principal)
    if body.nhs_number is not None:
        query = query.where(IfrRequest.nhs_number == body.nhs_number)
    else:
        query = query.where(func.upper(IfrRequest.reference) == (body.reference or "").strip().upper())
    rows = (await uow.session.scalars(query.order_by(IfrRequest.created_at.desc()).limit(SEARCH_LIMIT))).all()
    body.audit(uow, principal, "ifr_requests", [str(r.id) for r in rows])
    await uow.commit()
    on = today()
    return Page[CaseSummaryOut](items=[summary_out(r, on) for r in rows], next_cursor=None)


# Cases with no running team clock sort after every due date.
NO_DUE_DATE = date(9999, 12, 31)
_DUE = func.coalesce(IfrRequest.next_due, NO_DUE_DATE)


@router.get("", response_model=Page[CaseSummaryOut])
async def list_cases(
    uow: Uow,
    principal: Reader,
    filters: Annotated[Worklist, Depends(worklist)],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Annotated[
        Literal["created", "next_due"], Query(description="created: oldest first; next_due: nearest due date first")
    ] = "created",
) -> Page[CaseSummaryOut]:
    """The worklist: filter by state, stage, trust, region, urgency, officer, due date, awaiting ratification;
    oldest first, or by the next due date."""
    query = worklist_query(principal, filters)
    if sort == "next_due":
        rows, next_cursor = await paginate(
            uow.session, query, (_DUE, IfrRequest.id), cursor, limit, key_of=lambda r: [r.next_due or NO_DUE_DATE, r.id]
        )
    else:
        rows, next_cursor = await paginate(uow.session, query, (IfrRequest.created_at, IfrRequest.id), cursor, limit)
    on = today()
    return Page[CaseSummaryOut](items=[summary_out(r, on) for r in rows], next_cursor=next_cursor)


CSV_COLUMNS = tuple(CaseSummaryOut.model_fields)


@router.get(".csv", include_in_schema=True, summary="Worklist as CSV")
async def export_cases(uow: Uow, principal: Reader, filters: Annotated[Worklist, Depends(worklist)]) -> Response:
    query = worklist_query(principal, filters).order_by(IfrRequest.created_at, IfrRequest.id)
    rows = (await uow.session.scalars(query)).all()
    on = today()
    uow.audit(principal, "export", "ifr_requests", "worklist", detail={"rows": len(rows)})
    await uow.commit()
    return csv_response(CSV_COLUMNS, [summary_fields(r, on) for r in rows], "ifr-requests.csv")


@router.get("/{request_id}", response_model=CaseOut)
async def read_case(request_id: uuid.UUID, response: Response, uow: Uow, principal: Reader) -> CaseOut:
    case = await get_case(uow, request_id, principal)
    uow.audit(principal, "read", "ifr_request", case.id)
    out = await respond(uow, case, response, principal)
    await uow.commit()
    return out


class AssignIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"officer": "ifr-officer-17"}]})
    officer: str = Field(min_length=1, max_length=200)


@router.post("/{request_id}/assign", response_model=CaseOut)
async def assign(
    request_id: uuid.UUID,
    body: AssignIn,
    response: Response,
    uow: Uow,
    if_match: IfMatch = None,
    principal: Principal = Depends(require_roles(*OFFICER_ROLES)),
) -> CaseOut:
    """Give the case to a case officer (their worklist filters by `officer`)."""
    case = await get_case(uow, request_id, principal)
    require_version(if_match, case.version)
    async with stale_to_412():
        previous, case.assigned_to = case.assigned_to, body.officer
        uow.audit(principal, "assign", "ifr_request", case.id, detail={"from": previous, "to": body.officer})
        await uow.session.flush()
        out = await respond(uow, case, response, principal)
        await uow.commit()
    return out
