"""Forecast outturn against budget per provider and budget line: JSON, CSV and an SVG chart."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from casework.auth import Principal
from casework.csv_export import csv_response
from casework.financial_year import fy_start_year, month_starts
from casework.identifiers import OdsCode
from casework.openapi import problems
from casework.problems import NotFound, field_problem
from contract_service.api.access import reader
from contract_service.api.chart import ChartMonth, render_chart
from contract_service.db.models import Contract
from contract_service.db.outturn import ProviderOutturn, provider_outturn
from contract_service.domain.outturn import ZERO, budget_profile
from contract_service.runtime import Uow

router = APIRouter(tags=["forecast outturn"])


class MonthOut(BaseModel):
    month: str  # M1 .. M12
    month_start: date
    actual: Decimal
    forecast: Decimal
    budget_profile: Decimal  # the line's budget spread evenly over the year


class LineOut(BaseModel):
    budget_line_id: uuid.UUID
    line_name: str
    kind: str
    dmd_id: str | None
    category: str | None
    budget: Decimal
    committed: Decimal
    actual_to_date: Decimal
    forecast_outturn: Decimal
    variance: Decimal  # forecast outturn - budget: positive is an overspend
    variance_pct: Decimal | None
    at_risk: bool
    months: list[MonthOut]


class OutturnOut(BaseModel):
    provider_ods: str
    financial_year: str
    contract_id: uuid.UUID | None
    margin_pct: Decimal
    totals: dict[str, Decimal]
    lines: list[LineOut]
    unallocated: dict[str, Decimal]


def fy_param(fy: str) -> str:
    try:
        fy_start_year(fy)
    except ValueError as exc:
        raise field_problem("fy", str(exc)) from None
    return fy


# what a route through `provider_param` documents: a provider user naming another provider gets 404
ANOTHER_PROVIDER = problems(404)


def provider_param(principal: Principal, provider: str | None) -> str:
    """Provider users see their own organisation whatever they ask for; commissioners must name one."""
    own = principal.org_filter()
    if own is not None:
        if provider and not principal.can_see(provider):
            raise NotFound(f"provider {provider} not found")
        return own[:3]
    if not provider:
        raise field_problem("provider", "is required (an ODS code)")
    return provider.upper()[:3]


def outturn_out(outturn: ProviderOutturn, margin: Decimal) -> OutturnOut:
    starts = month_starts(outturn.financial_year)
    return OutturnOut(
        provider_ods=outturn.provider_ods,
        financial_year=outturn.financial_year,
        contract_id=outturn.contract_id,
        margin_pct=margin,
        totals=outturn.totals,
        unallocated=outturn.unallocated,
        lines=[
            LineOut(
                budget_line_id=item.line.id,
                line_name=item.line.line_name,
                kind=item.line.kind,
                dmd_id=item.line.dmd_id,
                category=item.line.category,
                budget=item.figures.budget,
                committed=item.committed,
                actual_to_date=item.figures.actual_to_date,
                forecast_outturn=item.figures.forecast_outturn,
                variance=item.figures.variance,
                variance_pct=item.figures.variance_pct,
                at_risk=item.line.at_risk,
                months=[
                    MonthOut(
                        month=f"M{m.month}",
                        month_start=starts[m.month - 1],
                        actual=m.actual,
                        forecast=m.forecast,
                        budget_profile=profile,
                    )
                    for m, profile in zip(item.figures.months, budget_profile(item.figures.budget), strict=True)
                ],
            )
            for item in outturn.lines
        ],
    )


@router.get("/forecast-outturn", response_model=OutturnOut, responses=ANOTHER_PROVIDER)
async def forecast_outturn(
    uow: Uow, fy: str = Query(examples=["2026/27"]), provider: OdsCode | None = None, principal: Principal = reader
) -> OutturnOut:
    outturn = await provider_outturn(uow.session, provider_param(principal, provider), fy_param(fy))
    return outturn_out(outturn, uow.settings.budget_at_risk_margin_pct)


CSV_COLUMNS = (
    "provider_ods",
    "financial_year",
    "line_name",
    "kind",
    "dmd_id",
    "category",
    "budget",
    "committed",
    "actual_to_date",
    "forecast_outturn",
    "variance",
    "variance_pct",
    "at_risk",
    *(f"M{m}" for m in range(1, 13)),
)


@router.get("/forecast-outturn.csv", response_class=Response, responses=ANOTHER_PROVIDER)
async def forecast_outturn_csv(
    uow: Uow, fy: str = Query(examples=["2026/27"]), provider: OdsCode | None = None, principal: Principal = reader
) -> Response:
    """Forecast against budget, one row per budget line; M1..M12 are actual + forecast of each month.
    Commissioners leaving out `provider` get every provider with a contract that year."""
    fy = fy_param(fy)
    if provider is None and principal.org_filter() is None:
        providers = list(
            await uow.session.scalars(
                select(Contract.provider_ods).where(Contract.financial_year == fy).order_by(Contract.provider_ods)
            )
        )
    else:
        providers = [provider_param(principal, provider)]
    rows = []
    for ods in providers:
        out = outturn_out(await provider_outturn(uow.session, ods, fy), ZERO)
        for line in out.lines:
            row = line.model_dump(exclude={"months", "budget_line_id"})
            row |= {"provider_ods": ods, "financial_year": fy}
            row |= {m.month: m.actual + m.forecast for m in line.months}
            rows.append(row)
    return csv_response(CSV_COLUMNS, rows, f"forecast-outturn-{fy.replace('/', '-')}.csv")


MONTH_COLUMNS = (
    "provider_ods",
    "financial_year",
    "line_name",
    "month",
    "month_start",
    "actual",
    "forecast",
    "budget_profile",
)


@router.get("/forecast-outturn/months.csv", response_class=Response, responses=problems(404))  # no such line
async def forecast_outturn_months_csv(
    uow: Uow,
    fy: str = Query(examples=["2026/27"]),
    provider: OdsCode | None = None,
    line: uuid.UUID | None = Query(None, description="one budget line's months; without it, every line's"),
    principal: Principal = reader,
) -> Response:
    """The monthly series: a row per line and month with actual, forecast and the budget profile."""
    out = outturn_out(await provider_outturn(uow.session, provider_param(principal, provider), fy_param(fy)), ZERO)
    lines = [x for x in out.lines if line is None or x.budget_line_id == line]
    if line is not None and not lines:
        raise NotFound(f"budget line {line} not found")
    rows = [
        {"provider_ods": out.provider_ods, "financial_year": out.financial_year, "line_name": x.line_name}
        | m.model_dump()
        for x in lines
        for m in x.months
    ]
    name = f"forecast-outturn-months-{out.provider_ods}-{out.financial_year.replace('/', '-')}.csv"
    return csv_response(MONTH_COLUMNS, rows, name)


@router.get("/forecast-outturn/chart.svg", response_class=Response, responses=problems(404))
async def forecast_outturn_chart(
    uow: Uow,
    fy: str = Query(examples=["2026/27"]),
    provider: OdsCode | None = None,
    line: uuid.UUID | None = Query(None, description="one budget line's chart; without it, all the provider's"),
    principal: Principal = reader,
) -> Response:
    outturn = await provider_outturn(uow.session, provider_param(principal, provider), fy_param(fy))
    lines = [x for x in outturn.lines if line is None or x.line.id == line]
    if line is not None and not lines:
        raise NotFound(f"budget line {line} not found")
    months = [
        ChartMonth(
            f"M{m}",
            sum((x.figures.months[m - 1].actual for x in lines), ZERO),
            sum((x.figures.months[m - 1].forecast for x in lines), ZERO),
        )
        for m in range(1, 13)
    ]
    budget = sum((x.figures.budget for x in lines), ZERO)
    forecast = sum((x.figures.forecast_outturn for x in lines), ZERO)
    what = lines[0].line.line_name if line is not None else "Excluded drugs and devices"
    title = f"{what}: {outturn.provider_ods} {outturn.financial_year}"
    svg = render_chart(title, months, budget, forecast)
    return Response(svg, media_type="image/svg+xml")
