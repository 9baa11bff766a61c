"""Spend forecasts per trust x entry x financial year, and the SACT completeness report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Date, and_, cast, func, or_, select

from casework import clock
from casework.auth import Principal, require_roles
from casework.csv_export import csv_response
from casework.financial_year import MONTH_PATTERN, financial_year_of, fy_start_year
from casework.identifiers import OdsCode
from casework.pagination import Page, paginate
from casework.problems import field_problem
from cdf_service.access import FORECAST_READER_ROLES
from cdf_service.api.common import from_row
from cdf_service.db.models import Application, Forecast, TreatmentCycle
from cdf_service.domain.completeness import ApprovalPeriod, completeness_by_trust, month_bounds
from cdf_service.runtime import Runtime, Uow

router = APIRouter(prefix="/cdf", tags=["forecasts and reports"])
FY = r"^\d{4}/\d{2}$"
MONTH = MONTH_PATTERN


class ForecastMonthOut(BaseModel):
    month: str
    fy_month: int
    actual: Decimal
    active: Decimal
    pipeline: Decimal
    new_approvals: Decimal = Decimal("0.00")  # months stored before this part existed have none
    total: Decimal


class ForecastOut(BaseModel):
    provider_ods: str
    entry_id: str
    entry_version: int
    financial_year: str
    as_of: date
    sact_to: date | None
    basis: str
    start_rate: Decimal
    actual_to_date: Decimal
    active_projection: Decimal
    pipeline: Decimal
    new_approvals: Decimal
    outturn: Decimal
    lower: Decimal
    upper: Decimal
    run_rate_outturn: Decimal
    months: list[ForecastMonthOut]
    computed_at: datetime | None


def _fy(fy: str | None) -> str:
    if fy is None:
        return financial_year_of(clock.today()).financial_year
    try:
        fy_start_year(fy)
    except ValueError as exc:
        raise field_problem("fy", str(exc)) from None
    return fy


def _forecasts(principal: Principal, provider: str | None, fy: str, entry_id: str | None) -> Any:
    query = select(Forecast).where(Forecast.financial_year == fy)
    if (own := principal.org_filter()) is not None:
        query = query.where(Forecast.provider_ods.startswith(own))
    if provider:
        query = query.where(Forecast.provider_ods == provider.upper())
    if entry_id:
        query = query.where(Forecast.entry_id == entry_id)
    return query


@router.get("/forecasts", response_model=Page[ForecastOut])
async def forecasts(
    uow: Uow,
    provider: OdsCode | None = None,
    fy: Annotated[str | None, Query(pattern=FY, description="financial year, e.g. 2026/27 (default: current)")] = None,
    entry_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Principal = Depends(require_roles(*FORECAST_READER_ROLES)),
) -> Page[ForecastOut]:
    """The latest stored forecast of each trust x entry (recomputed on every approval or treatment change)."""
    query = _forecasts(principal, provider, _fy(fy), entry_id)
    rows, next_cursor = await paginate(uow.session, query, (Forecast.provider_ods, Forecast.entry_id), cursor, limit)
    return Page[ForecastOut](items=[from_row(ForecastOut, r) for r in rows], next_cursor=next_cursor)


CSV_COLUMNS = (
    "provider_ods",
    "entry_id",
    "financial_year",
    "as_of",
    "sact_to",
    "basis",
    "actual_to_date",
    "active_projection",
    "pipeline",
    "new_approvals",
    "outturn",
    "lower",
    "upper",
    "run_rate_outturn",
)


@router.get("/forecasts.csv", response_class=StreamingResponse)
async def forecasts_csv(
    uow: Uow,
    provider: OdsCode | None = None,
    fy: Annotated[str | None, Query(pattern=FY)] = None,
    principal: Principal = Depends(require_roles(*FORECAST_READER_ROLES)),
) -> StreamingResponse:
    query = _forecasts(principal, provider, _fy(fy), None).order_by(Forecast.provider_ods, Forecast.entry_id)
    rows = (await uow.session.scalars(query)).all()
    lines = [{c: getattr(r, c) for c in CSV_COLUMNS} for r in rows]
    return csv_response(CSV_COLUMNS, lines, f"cdf-forecasts-{_fy(fy).replace('/', '-')}.csv")


class CompletenessOut(BaseModel):
    provider_ods: str
    month: str
    approvals_active: int
    approvals_with_sact: int
    share: Decimal | None
    expectation: Decimal
    meets_expectation: bool


@router.get("/reports/sact-completeness", response_model=list[CompletenessOut])
async def sact_completeness(
    uow: Uow,
    runtime: Runtime,
    month: Annotated[str, Query(pattern=MONTH, description="YYYY-MM")],
    provider: OdsCode | None = None,
    principal: Principal = Depends(require_roles(*FORECAST_READER_ROLES)),
) -> list[CompletenessOut]:
    """Per trust: the share of approvals active in the month that have SACT activity that month, against
    the national expectation (COMPLETENESS_EXPECTATION, 90%)."""
    first, last = month_bounds(date.fromisoformat(f"{month}-01"))
    periods = await _active_periods(uow, principal, provider, first, last)
    matched = await _with_activity(uow, [p.approval_id for p in periods], first, last)
    expectation: Decimal = runtime.settings.completeness_expectation
    results = completeness_by_trust(first, periods, matched, expectation)
    return [
        CompletenessOut(
            provider_ods=r.trust_ods,
            month=month,
            approvals_active=r.denominator,
            approvals_with_sact=r.numerator,
            share=r.share,
            expectation=r.expectation,
            meets_expectation=r.meets_expectation,
        )
        for r in results.values()
    ]


async def _active_periods(
    uow: Any, principal: Principal, provider: str | None, first: date, last: date
) -> list[ApprovalPeriod]:
    """Approvals expected to show SACT activity in the month: from the start (or planned start) to the
    final treatment, withdrawal or lapse due date."""
    active_from = func.coalesce(Application.first_administration, Application.planned_start)
    active_to = func.coalesce(
        Application.final_treatment_date,
        cast(Application.closed_at, Date),
    )
    query = select(Application.id, Application.provider_ods, active_from.label("starts"), active_to.label("ends_at"))
    query = query.where(
        Application.status != "rejected",
        active_from <= last,
        or_(active_to.is_(None), active_to >= first),
        # an approval never started only counts until its lapse due date
        or_(Application.first_administration.is_not(None), Application.lapse_due >= first),
    )
    if (own := principal.org_filter()) is not None:
        query = query.where(Application.provider_ods.startswith(own))
    if provider:
        query = query.where(Application.provider_ods == provider.upper())
    rows = (await uow.session.execute(query)).all()
    return [ApprovalPeriod(str(r.id), r.provider_ods, r.starts, r.ends_at) for r in rows]


async def _with_activity(uow: Any, ids: list[str], first: date, last: date) -> set[str]:
    if not ids:
        return set()
    query = select(TreatmentCycle.application_id).where(
        and_(TreatmentCycle.application_id.in_(ids), TreatmentCycle.cycle_start.between(first, last))
    )
    return {str(i) for i in (await uow.session.scalars(query.distinct())).all()}
