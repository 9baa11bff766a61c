"""The latest forecast backtest: its figures by cut-off month, when and on what data it ran, and a chart."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from casework.auth import Principal, require_roles
from casework.openapi import problems
from casework.problems import NotFound
from cdf_service.access import FORECAST_READER_ROLES
from cdf_service.api.accuracy_chart import AccuracyPoint, render_accuracy_chart
from cdf_service.db.backtest_repo import latest_backtest
from cdf_service.db.models import ForecastBacktest
from cdf_service.runtime import Uow

router = APIRouter(prefix="/cdf", tags=["forecasts and reports"])
NONE_YET = "no forecast backtest has been stored yet: run `python -m cdf_service.backtest --store`"


class AccuracyMonthOut(BaseModel):
    model_wape: float | None
    run_rate_wape: float | None
    coverage_p10_p90: float | None
    bias: float | None
    run_rate_bias: float | None
    trust_model_wape: float | None
    trust_run_rate_wape: float | None
    pair_model_wape: float | None
    pair_run_rate_wape: float | None
    trusts_model_better: int
    trusts: int
    pairs: int


class AccuracyOut(BaseModel):
    id: int
    ran_at: datetime
    seconds: Decimal
    data: dict[str, Any]
    years: list[str]
    pairs: int
    months: dict[str, AccuracyMonthOut]
    calibration: dict[str, list[float]]
    chart: str


async def _latest(uow: Any) -> ForecastBacktest:
    found = await latest_backtest(uow.session)
    if found is None:
        raise NotFound(NONE_YET)
    return found


@router.get("/forecasts/accuracy", response_model=AccuracyOut, responses=problems(404))  # no backtest run yet
async def forecast_accuracy(
    uow: Uow, principal: Principal = Depends(require_roles(*FORECAST_READER_ROLES))
) -> AccuracyOut:
    """The latest backtest of the spend forecast against the run-rate (national, per trust and per trust x
    entry WAPE and bias, P10-P90 coverage, by cut-off month), with when and on what data it ran."""
    run = await _latest(uow)
    return AccuracyOut(
        id=run.id,
        ran_at=run.ran_at,
        seconds=run.seconds,
        data=run.data,
        years=run.figures["years"],
        pairs=run.figures["pairs"],
        months=run.figures["months"],
        calibration=run.calibration,
        chart="/api/v1/cdf/forecasts/accuracy/chart.svg",
    )


@router.get("/forecasts/accuracy/chart.svg", response_class=Response, responses=problems(404))
async def forecast_accuracy_chart(
    uow: Uow, principal: Principal = Depends(require_roles(*FORECAST_READER_ROLES))
) -> Response:
    """National WAPE by cut-off month, model beside run-rate, and the band's coverage, as SVG."""
    run = await _latest(uow)
    months = run.figures["months"]
    points = [
        AccuracyPoint(name, m["model_wape"], m["run_rate_wape"], m["coverage_p10_p90"]) for name, m in months.items()
    ]
    data = run.data
    title = f"CDF spend forecast against the run-rate, {', '.join(run.figures['years'])}"
    subtitle = (
        f"Backtest of {run.ran_at:%d %b %Y %H:%M} on {data.get('generator', 'unknown data')} "
        f"(seed {data.get('seed')}, {data.get('trusts')} trusts, {data.get('entries')} entries)"
    )
    return Response(render_accuracy_chart(title, subtitle, points), media_type="image/svg+xml")
