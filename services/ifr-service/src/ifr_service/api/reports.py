"""The quarterly national data return (JSON, or CSV with ?format=csv)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import and_, or_, select

from casework.auth import Principal, Role, require_roles
from casework.csv_export import csv_response
from casework.deps import Uow
from casework.financial_year import QUARTER_PATTERN
from casework.problems import field_problem
from casework.uow import UnitOfWork
from ifr_service.db.models import CaseClock, IfrRequest, Transition
from ifr_service.domain.case import Action
from ifr_service.domain.report import (
    CSV_COLUMNS,
    CaseSummary,
    ClockRecord,
    Event,
    Milestone,
    csv_rows,
    quarter_bounds,
    quarterly_return,
)
from ifr_service.workflow import today

router = APIRouter(prefix="/ifr/reports", tags=["reports"])

MILESTONE_OF = {
    Action.SUBMIT: Milestone.RECEIVED,
    Action.SCREEN_OUT: Milestone.SCREENED_OUT,
    Action.REDIRECT: Milestone.REDIRECTED,
    Action.REDIRECT_SERVICE_DEVELOPMENT: Milestone.REDIRECTED,  # a cohort's: redirected to the policy process
    Action.DECIDE: Milestone.DECISION,
    Action.REQUEST_RECONSIDERATION: Milestone.RECONSIDERATION_REQUESTED,
    Action.REQUEST_REVIEW: Milestone.REVIEW_REQUESTED,
    Action.DECIDE_REVIEW: Milestone.REVIEW_DECIDED,
    Action.WITHDRAW: Milestone.WITHDRAWN,
    Action.CHAIRS_ACTION: Milestone.CHAIRS_ACTION,
    Action.RATIFY: Milestone.RATIFIED,
    Action.OVERTURN: Milestone.OVERTURNED,
}


async def case_summaries(uow: UnitOfWork, start: date, end: date) -> list[CaseSummary]:
    """Every case with something in the period: its milestones and its clocks."""
    transitions = (
        await uow.session.scalars(
            select(Transition).where(
                Transition.on.between(start, end), Transition.action.in_([str(a) for a in MILESTONE_OF])
            )
        )
    ).all()
    clocks = (
        await uow.session.scalars(
            select(CaseClock).where(
                CaseClock.cancelled.is_(False),
                or_(
                    CaseClock.stopped_on.between(start, end),
                    and_(or_(CaseClock.stopped_on.is_(None), CaseClock.stopped_on > end), CaseClock.due_date < end),
                ),
            )
        )
    ).all()
    events: dict[Any, list[Event]] = defaultdict(list)
    for t in transitions:
        events[t.request_id].append(
            Event(MILESTONE_OF[Action(t.action)], t.on, t.detail.get("outcome"), tuple(t.detail.get("reasons") or ()))
        )
    records: dict[Any, list[ClockRecord]] = defaultdict(list)
    for c in clocks:
        records[c.request_id].append(
            ClockRecord(c.clock, c.due_date, c.stopped_on, c.cancelled, c.paused_since is not None)
        )
    ids = set(events) | set(records)
    cases = (
        (
            await uow.session.execute(
                select(IfrRequest.id, IfrRequest.provider_ods, IfrRequest.treatment_name).where(IfrRequest.id.in_(ids))
            )
        ).all()
        if ids
        else []
    )
    return [
        CaseSummary(ods or "unknown", treatment or "unknown", tuple(events[i]), tuple(records[i]))
        for i, ods, treatment in cases
    ]


@router.get("/quarterly")
async def quarterly(
    uow: Uow,
    principal: Annotated[Principal, Depends(require_roles(Role.IFR_OFFICER, Role.NATIONAL_ANALYST))],
    quarter: Annotated[str, Query(pattern=QUARTER_PATTERN, examples=["2026-Q3"])],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """Received, screened out by reason, redirected, heard by panel, approved, declined,
    reconsiderations, reviews and outcomes, by treatment and trust; timeliness against each clock.
    Quarters are calendar quarters (2026-Q3 = July-September 2026); `financial_quarter` names the same
    period in financial-year terms."""
    try:
        start, end = quarter_bounds(quarter)
    except ValueError as exc:
        raise field_problem("quarter", str(exc)) from None
    report = quarterly_return(await case_summaries(uow, start, end), quarter, today())
    uow.audit(principal, "report", "ifr_report", quarter)
    await uow.commit()
    if format == "csv":
        return csv_response(CSV_COLUMNS, csv_rows(report), f"ifr-return-{quarter}.csv")
    return JSONResponse(jsonable_encoder(report))
