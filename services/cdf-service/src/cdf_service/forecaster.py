"""The forecaster: recomputes the spend forecast of each trust x entry whose approvals or treatments changed.

Writers append (trust, entry) to `forecast_dirty` in the transaction of their change. This background
job takes a batch of those rows (FOR UPDATE SKIP LOCKED, so replicas share them), recomputes each pair
for the financial year of today with the pure model in domain.forecast, stores the result and emits
`cdf.forecast.updated` when it differs from the stored one, then deletes the rows it took, all in one
transaction: a crash leaves them for the next round, and a change committed meanwhile has its own row.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.events.catalogue.cdf import ForecastMonth, ForecastUpdated
from casework.financial_year import financial_year_of, month_start
from casework.logs import get_logger
from casework.periodic import wait_for_wake
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from cdf_service.db import list_repo
from cdf_service.db.forecast_repo import FORECASTER
from cdf_service.db.models import Application, Forecast, ForecastDirty, TreatmentCycle
from cdf_service.domain.forecast import (
    ForecastOutturn,
    PendingApproval,
    Treatment,
    forecast_entry,
    historical_start_rate,
    run_rate_outturn,
)
from cdf_service.domain.time_on_treatment import observation_from_treatment, time_on_treatment_curve

log = get_logger(__name__)
PAIRS_PER_ROUND = 100

_TAKE = text(
    """
    SELECT id, provider_ods, entry_id FROM forecast_dirty ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED
    """
)


async def forecast_round(runtime: ServiceRuntime, as_of: date | None = None) -> int:
    """Recompute the pairs marked dirty (one batch); returns how many pairs were recomputed."""
    as_of = as_of or date.today()
    async with runtime.unit_of_work() as uow:
        taken = (await uow.session.execute(_TAKE, {"n": PAIRS_PER_ROUND * 20})).all()
        pairs = sorted({(r.provider_ods, r.entry_id) for r in taken})[:PAIRS_PER_ROUND]
        ids = [r.id for r in taken if (r.provider_ods, r.entry_id) in set(pairs)]
        for provider, entry_id in pairs:
            await recompute(uow, provider, entry_id, as_of)
        if ids:
            await uow.session.execute(delete(ForecastDirty).where(ForecastDirty.id.in_(ids)))
        await uow.commit()
    return len(pairs)


async def forecaster(runtime: ServiceRuntime) -> None:
    """Background task: drain the dirty pairs, then wait until a commit marks more (or FORECAST_INTERVAL_S)."""
    settings: Any = runtime.settings
    wake = runtime.wake_signal(FORECASTER)
    while True:
        try:
            while await forecast_round(runtime) == PAIRS_PER_ROUND:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("forecast round failed", error=repr(exc))
        await wait_for_wake(wake, settings.forecast_interval_s)


async def recompute(uow: UnitOfWork, provider: str, entry_id: str, as_of: date) -> ForecastOutturn | None:
    row = await list_repo.entry_on(uow.session, entry_id, as_of) or await list_repo.latest_version(
        uow.session, entry_id
    )
    if row is None:
        return None
    entry = list_repo.to_domain(row)
    settings: Any = uow.settings
    treatments, pending = await _trust_inputs(uow, provider, entry_id)
    curve, start_rate = await _entry_history(uow, entry_id, entry.cycle_length_days, as_of, settings)
    result = forecast_entry(
        trust_ods=provider,
        entry=entry,
        treatments=treatments,
        pending=pending,
        curve=curve,
        as_of=as_of,
        start_rate=start_rate,
    )
    await _store(uow, result, entry.dmd_id)
    return result


async def _trust_inputs(uow: UnitOfWork, provider: str, entry_id: str) -> tuple[list[Treatment], list[PendingApproval]]:
    apps = (
        await uow.session.execute(
            select(
                Application.id,
                Application.status,
                Application.planned_start,
                Application.first_administration,
                Application.final_treatment_date,
                Application.closed_at,
            ).where(
                Application.provider_ods == provider, Application.entry_id == entry_id, Application.status != "rejected"
            )
        )
    ).all()
    started = [a for a in apps if a.first_administration is not None]
    cycles: dict[Any, dict[date, int]] = defaultdict(dict)
    if started:
        month = func.date_trunc("month", TreatmentCycle.cycle_start)
        counted = await uow.session.execute(
            select(TreatmentCycle.application_id, month, func.count())
            .where(TreatmentCycle.application_id.in_([a.id for a in started]))
            .group_by(TreatmentCycle.application_id, month)
        )
        for app_id, month_at, count in counted:
            cycles[app_id][month_start(month_at.date())] = count
    treatments = [
        Treatment(start=a.first_administration, stop=_stop(a), cycles_by_month=cycles.get(a.id, {})) for a in started
    ]
    pending = [PendingApproval(a.planned_start) for a in apps if a.status == "approved"]
    return treatments, pending


def _stop(app: Any) -> date | None:
    """Date of final treatment, or the withdrawal date for a treatment withdrawn while running."""
    if app.final_treatment_date is not None:
        return app.final_treatment_date
    return app.closed_at.date() if app.status == "withdrawn" and app.closed_at else None


async def _entry_history(
    uow: UnitOfWork, entry_id: str, cycle_days: int, as_of: date, settings: Any
) -> tuple[Any, float]:
    """Kaplan–Meier curve and start rate for the entry from every trust's history."""
    rows = (
        await uow.session.execute(
            select(
                Application.status,
                Application.first_administration,
                Application.final_treatment_date,
                Application.closed_at,
            ).where(
                Application.entry_id == entry_id,
                Application.status.in_(("treatment_started", "treatment_stopped", "lapsed", "withdrawn")),
            )
        )
    ).all()
    observations = []
    for r in rows:
        if r.first_administration is None:
            continue
        obs = observation_from_treatment(r.first_administration, _stop(r), as_of, cycle_days)
        if obs is not None:
            observations.append(obs)
    started = sum(1 for r in rows if r.first_administration is not None)
    curve = time_on_treatment_curve(observations, settings.forecast_min_history)
    return curve, historical_start_rate(started, len(rows), settings.forecast_default_start_rate)


async def _store(uow: UnitOfWork, result: ForecastOutturn, dmd_id: str) -> None:
    months = [
        {
            "month": m.month_start.strftime("%Y-%m"),
            "fy_month": m.month,
            "actual": str(m.actual),
            "active": str(m.active),
            "pipeline": str(m.pipeline),
            "total": str(m.total),
        }
        for m in result.months
    ]
    elapsed = financial_year_of(result.as_of).month
    values = {
        "provider_ods": result.trust_ods,
        "entry_id": result.entry_id,
        "financial_year": result.financial_year,
        "entry_version": result.entry_version,
        "as_of": result.as_of,
        "basis": result.basis.value,
        "start_rate": Decimal(str(round(result.start_rate, 4))),
        "actual_to_date": result.actual_to_date,
        "active_projection": result.active_projection,
        "pipeline": result.pipeline,
        "outturn": result.outturn,
        "lower": result.lower,
        "upper": result.upper,
        "run_rate_outturn": run_rate_outturn(result.actual_to_date, elapsed),
        "months": months,
    }
    key = (
        Forecast.provider_ods == result.trust_ods,
        Forecast.entry_id == result.entry_id,
        Forecast.financial_year == result.financial_year,
    )
    before = await uow.session.scalar(select(Forecast.months).where(*key))
    changed = before != months
    statement = pg_insert(Forecast).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Forecast.provider_ods, Forecast.entry_id, Forecast.financial_year],
        set_={
            **{k: statement.excluded[k] for k in values if k not in ("provider_ods", "entry_id", "financial_year")},
            "computed_at": func.now(),
        },
    )
    await uow.session.execute(statement)
    if changed:
        uow.emit(
            "cdf.forecast.updated",
            f"{result.trust_ods}:{result.entry_id}:{result.financial_year}",
            _payload(result, dmd_id, values["run_rate_outturn"]),
        )


def _payload(result: ForecastOutturn, dmd_id: str, run_rate: Decimal) -> ForecastUpdated:
    return ForecastUpdated(
        provider_ods=result.trust_ods,
        entry_id=result.entry_id,
        dmd_id=dmd_id,
        financial_year=result.financial_year,
        as_of=result.as_of,
        actual_to_date=result.actual_to_date,
        forecast_outturn=result.outturn,
        lower=result.lower,
        upper=result.upper,
        run_rate_outturn=run_rate,
        months=[
            ForecastMonth(
                month=m.month_start.strftime("%Y-%m"), fy_month=m.month, actual=m.actual, forecast=m.active + m.pipeline
            )
            for m in result.months
        ],
    )
