"""The national summary of forecast outturn: every provider with a contract in the year, the largest
overspend first, for commissioners (JSON and CSV)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from casework.auth import Principal
from casework.csv_export import csv_response
from contract_service.api.access import commissioner
from contract_service.api.forecast import fy_param
from contract_service.db.outturn import ProviderOutturn, national_outturn
from contract_service.domain.contracts import pence
from contract_service.runtime import Uow

router = APIRouter(tags=["forecast outturn"])


class ProviderSummary(BaseModel):
    provider_ods: str
    budget: Decimal
    actual_to_date: Decimal
    forecast_outturn: Decimal
    variance: Decimal  # forecast outturn - budget: positive is an overspend
    variance_pct: Decimal | None
    lines: int
    lines_at_risk: int


class NationalSummary(BaseModel):
    financial_year: str
    totals: dict[str, Decimal]
    providers: list[ProviderSummary]  # by variance, the largest overspend first


def _summary(outturn: ProviderOutturn) -> ProviderSummary:
    totals = outturn.totals
    budget, variance = totals["budget"], totals["variance"]
    return ProviderSummary(
        provider_ods=outturn.provider_ods,
        budget=budget,
        actual_to_date=totals["actual_to_date"],
        forecast_outturn=totals["forecast_outturn"],
        variance=variance,
        variance_pct=None if budget == 0 else pence(variance / budget * 100),
        lines=len(outturn.lines),
        lines_at_risk=sum(1 for x in outturn.lines if x.line.at_risk),
    )


async def _national(uow: Uow, fy: str) -> NationalSummary:
    providers = sorted(
        (_summary(o) for o in await national_outturn(uow.session, fy)), key=lambda p: (-p.variance, p.provider_ods)
    )
    totals = {
        name: sum((getattr(p, name) for p in providers), Decimal(0))
        for name in ("budget", "actual_to_date", "forecast_outturn", "variance")
    }
    return NationalSummary(financial_year=fy, totals=totals, providers=providers)


@router.get("/forecast-outturn/national", response_model=NationalSummary)
async def national_summary(
    uow: Uow, fy: str = Query(examples=["2026/27"]), principal: Principal = commissioner
) -> NationalSummary:
    """Commissioners only: a provider's view of other providers' money would breach their confidence."""
    return await _national(uow, fy_param(fy))


@router.get("/forecast-outturn/national.csv", response_class=Response)
async def national_summary_csv(
    uow: Uow, fy: str = Query(examples=["2026/27"]), principal: Principal = commissioner
) -> Response:
    fy = fy_param(fy)
    summary = await _national(uow, fy)
    rows = [{"financial_year": fy, **p.model_dump()} for p in summary.providers]
    return csv_response(
        ("financial_year", *ProviderSummary.model_fields), rows, f"forecast-outturn-national-{fy.replace('/', '-')}.csv"
    )
