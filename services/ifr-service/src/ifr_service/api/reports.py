"""The quarterly national data return and the decision-consistency report: JSON, or CSV at the same path
with `.csv` (the platform's one CSV convention; `?format=csv` is kept, deprecated, for clients written
before it)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import and_, or_, select

from casework.auth import Principal, Role, require_roles
from casework.clock import today
from casework.csv_export import csv_response
from casework.financial_year import QUARTER_PATTERN
from casework.problems import field_problem
from ifr_service.db.models import CaseClock, Decision, IfrRequest, Panel, Transition
from ifr_service.domain import consistency
from ifr_service.domain.case import Action, CaseState
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
from ifr_service.runtime import IfrUnitOfWork, Uow

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


async def case_summaries(uow: IfrUnitOfWork, start: date, end: date) -> list[CaseSummary]:
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


Reporter = Annotated[Principal, Depends(require_roles(Role.IFR_OFFICER, Role.NATIONAL_ANALYST))]
Quarter = Annotated[str, Query(pattern=QUARTER_PATTERN, examples=["2026-Q3"])]
Start = Annotated[date | None, Query(examples=["2026-04-01"])]
End = Annotated[date | None, Query(examples=["2027-03-31"])]
# `?format=csv` came before the `.csv` paths; kept so existing clients go on working
LegacyFormat = Annotated[
    str, Query(pattern="^(json|csv)$", deprecated=True, description="Deprecated: GET the same path with .csv")
]


# what the plain paths answer: JSON, or CSV under the deprecated ?format=csv
JSON_OR_LEGACY_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/quarterly", responses=JSON_OR_LEGACY_CSV)
async def quarterly(uow: Uow, principal: Reporter, quarter: Quarter, format: LegacyFormat = "json") -> Response:
    """Received, screened out by reason, redirected, heard by panel, approved, declined,
    reconsiderations, reviews and outcomes, by treatment and trust; timeliness against each clock.
    Quarters are calendar quarters (2026-Q3 = July-September 2026); `financial_quarter` names the same
    period in financial-year terms. As CSV: `/quarterly.csv`."""
    report = await _quarterly_report(uow, principal, quarter)
    return _quarterly_csv(report, quarter) if format == "csv" else JSONResponse(jsonable_encoder(report))


@router.get("/quarterly.csv", response_class=Response)
async def quarterly_csv(uow: Uow, principal: Reporter, quarter: Quarter) -> Response:
    """The quarterly return as CSV rows (`treatment`, `trust`, `measure`, `value` ...)."""
    return _quarterly_csv(await _quarterly_report(uow, principal, quarter), quarter)


def _quarterly_csv(report: dict[str, Any], quarter: str) -> Response:
    return csv_response(CSV_COLUMNS, csv_rows(report), f"ifr-return-{quarter}.csv")


async def _quarterly_report(uow: IfrUnitOfWork, principal: Principal, quarter: str) -> dict[str, Any]:
    try:
        start, end = quarter_bounds(quarter)
    except ValueError as exc:
        raise field_problem("quarter", str(exc)) from None
    report = quarterly_return(await case_summaries(uow, start, end), quarter, today())
    # the same quarter's decisions by region and panel, with the consistency test
    report["links"] = {"consistency": f"/api/v1/ifr/reports/consistency?start={start}&end={end}"}
    uow.audit(principal, "report", "ifr_report", quarter)
    await uow.commit()
    return report


# the longest period one report covers (five years of requests: the retention of a decided case)
LONGEST_PERIOD = timedelta(days=5 * 366)
DEFAULT_PERIOD = timedelta(days=365)
FIRST_YEAR, LAST_YEAR = 1900, 2099
SCREENED_OUT_STATES = (CaseState.SCREENED_OUT, CaseState.CLOSED)


async def consistency_records(
    uow: IfrUnitOfWork, start: date, end: date
) -> tuple[list[consistency.RequestRecord], dict[str, dict[str, Any]]]:
    """The requests received from `start` to `end` as the consistency report counts them, and the
    panels that decided them (name and region)."""
    received = select(IfrRequest.id).where(IfrRequest.received_on.between(start, end))
    requests = (
        await uow.session.execute(
            select(
                IfrRequest.id,
                IfrRequest.region,
                IfrRequest.treatment_key,
                IfrRequest.treatment_code,
                IfrRequest.treatment_name,
                IfrRequest.received_on,
                IfrRequest.state,
            ).where(IfrRequest.id.in_(received))
        )
    ).all()
    decisions = (
        await uow.session.execute(
            select(Decision.request_id, Decision.panel_id, Decision.outcome, Decision.decided_on)
            .where(Decision.request_id.in_(received), Decision.kind != "review")
            .order_by(Decision.created_at, Decision.id)
        )
    ).all()
    first: dict[Any, date] = {}
    standing: dict[Any, tuple[str, str]] = {}
    for request_id, panel_id, outcome, decided_on in decisions:
        first.setdefault(request_id, decided_on)
        standing[request_id] = (str(panel_id), outcome)
    screened_out = set(
        (
            await uow.session.scalars(
                select(Transition.request_id).where(
                    Transition.request_id.in_(received), Transition.action == str(Action.SCREEN_OUT)
                )
            )
        ).all()
    )
    clocks: dict[Any, dict[str, consistency.ClockOutcome]] = defaultdict(dict)
    for c in (
        await uow.session.scalars(
            select(CaseClock)
            .where(
                CaseClock.request_id.in_(received),
                CaseClock.clock.in_([str(c) for c in consistency.DECISION_CLOCKS]),
            )
            .order_by(CaseClock.started_on, CaseClock.id)
        )
    ).all():
        # the clock started on receipt: the first of its kind (a reconsideration starts another)
        clocks[c.request_id].setdefault(
            c.clock,
            consistency.ClockOutcome(c.clock, c.due_date, c.stopped_on, c.cancelled, c.paused_since is not None),
        )
    records = [
        consistency.RequestRecord(
            # the same treatment as cohorts count it (domain.cohort.treatment_key: code and indication)
            treatment=key or code or name or "unknown",
            treatment_name=name or code or "unknown",
            received_on=received_on,  # type: ignore[arg-type]  # the query keeps requests received in the period
            region=region,
            panel=standing[i][0] if i in standing else None,
            outcome=standing[i][1] if i in standing else None,
            first_decided_on=first.get(i),
            screened_out=i not in standing and i in screened_out and state in SCREENED_OUT_STATES,
            clocks=tuple(clocks[i].values()),
        )
        for i, region, key, code, name, received_on, state in requests
    ]
    panel_ids = {r.panel for r in records if r.panel}
    panels = (
        (await uow.session.execute(select(Panel.id, Panel.name, Panel.region).where(Panel.id.in_(panel_ids)))).all()
        if panel_ids
        else []
    )
    return records, {str(i): {"name": name, "region": region} for i, name, region in panels}


@router.get("/consistency", responses=JSON_OR_LEGACY_CSV)
async def decision_consistency(
    uow: Uow, principal: Reporter, start: Start = None, end: End = None, format: LegacyFormat = "json"
) -> Response:
    """Decision consistency: the requests received from `start` to `end` (default: the year up to
    today) by region and by panel, per treatment and overall: requests, screened out, approved,
    declined, the approval rate with its 95% Wilson interval, the clocks started on receipt and the
    median working days to the first decision; `flags` names each region or panel whose approval rate
    for a treatment differs from the others' beyond chance (Fisher's exact, Holm-Bonferroni), with its
    counts. `method` states the test. As CSV: `/consistency.csv`."""
    report = await _consistency_report(uow, principal, start, end)
    return _consistency_csv(report) if format == "csv" else JSONResponse(jsonable_encoder(report))


@router.get("/consistency.csv", response_class=Response)
async def decision_consistency_csv(uow: Uow, principal: Reporter, start: Start = None, end: End = None) -> Response:
    """The decision-consistency report as long CSV rows (`period_start` ... `measure`, `value`)."""
    return _consistency_csv(await _consistency_report(uow, principal, start, end))


def _consistency_csv(report: dict[str, Any]) -> Response:
    name = f"ifr-consistency-{report['period_start']}-{report['period_end']}.csv"
    return csv_response(consistency.CSV_COLUMNS, consistency.csv_rows(report), name)


async def _consistency_report(
    uow: IfrUnitOfWork, principal: Principal, start: date | None, end: date | None
) -> dict[str, Any]:
    for name, day in (("start", start), ("end", end)):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise field_problem(name, f"must be a date from {FIRST_YEAR} to {LAST_YEAR}")
    end = end or today()
    start = start or end - DEFAULT_PERIOD + timedelta(days=1)
    if start > end:
        raise field_problem("start", "must be on or before end")
    if end - start > LONGEST_PERIOD:
        raise field_problem("start", "the period can be at most five years")
    records, panels = await consistency_records(uow, start, end)
    report = consistency.consistency_report(records, start, end, today(), panels)
    uow.audit(principal, "report", "ifr_consistency_report", f"{start}..{end}")
    await uow.commit()
    return report
