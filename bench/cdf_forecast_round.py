"""cdf-service's forecaster: CPU per recomputed trust x list entry pair, the round as it is now beside
the per-pair path it replaced (a frozen copy below, `legacy_round`), in the same run on the same data.

Setup: the seeded national list and synthetic trusts (`cdf_service.synthetic`: clinicians, approvals,
SACT files matched into starts, stops and cycles) loaded through the public API of `casework serve cdf`
in its own process. Then the service runs in this process with its workers off, every trust x entry
pair with applications is marked dirty in rounds of 1, 10 and 100 pairs, and each round is timed:
- changed: the pairs' stored forecasts are deleted first, so every pair is stored and publishes
  `cdf.forecast.updated` (what a SACT start costs);
- unchanged: the stored forecasts are already right, so nothing is published.
CPU is this process's (the forecaster) and PostgreSQL's (every backend, from /proc, 10 ms ticks, so
small rounds average out only over many rounds). Both paths must leave identical forecasts and events.

    .venv/bin/python bench/cdf_forecast_round.py [--trusts 6] [--patients 150] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdf_common import CpuMeter
from bench.harness import infrastructure, print_table
from casework.events.catalogue.cdf import ForecastMonth, ForecastUpdated
from casework.financial_year import financial_year_of, month_start
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from cdf_service.db import list_repo
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
from cdf_service.forecaster import PAIRS_PER_ROUND, forecast_round
from cdf_service.synthetic.national import TrustPlan
from cdf_service.synthetic.populate import populate
from embedded_stack.testing import TestStack

TRUSTS = ("RRV", "RGT", "RTH", "RM1", "RWE", "RA7", "RJ1", "RX1")
Round = Callable[[ServiceRuntime], Awaitable[int]]


# --- The per-pair path as it was before the batched round (kept here only to compare) -------------

_TAKE = text("SELECT id, provider_ods, entry_id FROM forecast_dirty ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED")


async def legacy_round(runtime: ServiceRuntime, as_of: date | None = None) -> int:
    as_of = as_of or date.today()
    async with runtime.unit_of_work() as uow:
        taken = (await uow.session.execute(_TAKE, {"n": PAIRS_PER_ROUND * 20})).all()
        pairs = sorted({(r.provider_ods, r.entry_id) for r in taken})[:PAIRS_PER_ROUND]
        ids = [r.id for r in taken if (r.provider_ods, r.entry_id) in set(pairs)]
        for provider, entry_id in pairs:
            await _legacy_recompute(uow, provider, entry_id, as_of)
        if ids:
            await uow.session.execute(delete(ForecastDirty).where(ForecastDirty.id.in_(ids)))
        await uow.commit()
    return len(pairs)


async def _legacy_recompute(uow: UnitOfWork, provider: str, entry_id: str, as_of: date) -> None:
    row = await list_repo.entry_on(uow.session, entry_id, as_of) or await list_repo.latest_version(
        uow.session, entry_id
    )
    if row is None:
        return
    entry = list_repo.to_domain(row)
    settings: Any = uow.settings
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
        obs = observation_from_treatment(r.first_administration, _stop(r), as_of, entry.cycle_length_days)
        if obs is not None:
            observations.append(obs)
    begun = sum(1 for r in rows if r.first_administration is not None)
    curve = time_on_treatment_curve(observations, settings.forecast_min_history)
    start_rate = historical_start_rate(begun, len(rows), settings.forecast_default_start_rate)
    result = forecast_entry(
        trust_ods=provider,
        entry=entry,
        treatments=treatments,
        pending=pending,
        curve=curve,
        as_of=as_of,
        start_rate=start_rate,
    )
    await _legacy_store(uow, result, entry.dmd_id)


def _stop(app: Any) -> date | None:
    if app.final_treatment_date is not None:
        return app.final_treatment_date
    return app.closed_at.date() if app.status == "withdrawn" and app.closed_at else None


async def _legacy_store(uow: UnitOfWork, result: ForecastOutturn, dmd_id: str) -> None:
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
    statement = pg_insert(Forecast).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Forecast.provider_ods, Forecast.entry_id, Forecast.financial_year],
        set_={
            **{k: statement.excluded[k] for k in values if k not in ("provider_ods", "entry_id", "financial_year")},
            "computed_at": func.now(),
        },
    )
    await uow.session.execute(statement)
    if before != months:
        uow.emit(
            "cdf.forecast.updated",
            f"{result.trust_ods}:{result.entry_id}:{result.financial_year}",
            _legacy_payload(result, dmd_id, values["run_rate_outturn"]),
        )


def _legacy_payload(result: ForecastOutturn, dmd_id: str, run_rate: Decimal) -> ForecastUpdated:
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


# --- Measuring --------------------------------------------------------------------------------------


async def _sql(runtime: ServiceRuntime, statement: str, **params: Any) -> list[Any]:
    async with runtime.unit_of_work() as uow:
        result = await uow.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
        await uow.session.commit()
    return rows


async def _mark(runtime: ServiceRuntime, pairs: list[tuple[str, str]], fresh: bool) -> None:
    providers, entries = [p for p, _ in pairs], [e for _, e in pairs]
    if fresh:
        await _sql(
            runtime,
            "DELETE FROM forecasts f USING unnest(CAST(:p AS text[]), CAST(:e AS text[])) AS x(p, e) "
            "WHERE f.provider_ods = x.p AND f.entry_id = x.e",
            p=providers,
            e=entries,
        )
    await _sql(
        runtime,
        "INSERT INTO forecast_dirty (provider_ods, entry_id) "
        "SELECT * FROM unnest(CAST(:p AS text[]), CAST(:e AS text[]))",
        p=providers,
        e=entries,
    )


async def measure(
    stack: TestStack, runtime: ServiceRuntime, run: Round, pairs: list[tuple[str, str]], size: int, fresh: bool
) -> dict[str, float]:
    """Every pair recomputed once in rounds of `size`; CPU and wall milliseconds per pair."""
    meter = CpuMeter(stack, os.getpid())
    cpu = pg = wall = 0.0
    for i in range(0, len(pairs), size):
        chunk = pairs[i : i + size]
        await _mark(runtime, chunk, fresh)
        pg_before = meter._postgres()
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        done = await run(runtime)
        cpu += time.process_time() - cpu_before
        wall += time.perf_counter() - wall_before
        pg_after = meter._postgres()
        pg += sum(now - pg_before.get(pid, 0.0) for pid, now in pg_after.items())
        assert done == len(chunk), (done, len(chunk))
    n = len(pairs)
    return {"cpu": 1000 * cpu / n, "pg": 1000 * pg / n, "wall": 1000 * wall / n}


async def snapshot(runtime: ServiceRuntime, since: int) -> tuple[list[Any], list[Any]]:
    """Stored forecasts (without computed_at) and the forecast events published after outbox id `since`."""
    stored = await _sql(
        runtime,
        "SELECT provider_ods, entry_id, financial_year, entry_version, as_of, basis, start_rate, actual_to_date, "
        "active_projection, pipeline, outturn, lower, upper, run_rate_outturn, months FROM forecasts "
        "ORDER BY provider_ods, entry_id",
    )
    events = await _sql(
        runtime,
        "SELECT envelope->>'subject', envelope->'data' FROM outbox_events "
        "WHERE id > :since AND event_type = 'cdf.forecast.updated' ORDER BY id",
        since=since,
    )
    return [tuple(r) for r in stored], [tuple(r) for r in events]


async def last_outbox_id(runtime: ServiceRuntime) -> int:
    return (await _sql(runtime, "SELECT coalesce(max(id), 0) FROM outbox_events"))[0][0]


def load(stack: TestStack, trusts: int, patients: int) -> dict[str, Any]:
    """The list, clinicians, approvals and SACT through the API of the service in its own process."""
    plan = TrustPlan(cdf_patients=patients, routine_patients=20)
    with stack.served("cdf", LAPSE_SWEEP_INTERVAL_S="0") as url:
        return populate(url, stack.layout.secrets()["jwt_secret"], TRUSTS[:trusts], plan, seed=3)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trusts", type=int, default=6)
    parser.add_argument("--patients", type=int, default=150, help="CDF patients per trust")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    async with infrastructure() as stack:
        started = time.perf_counter()
        summary = await asyncio.to_thread(load, stack, args.trusts, args.patients)
        applications = sum(v["applications"] for k, v in summary.items() if k != "list")
        print(f"loaded {args.trusts} trusts, {applications} applications in {time.perf_counter() - started:.0f} s")
        async with stack.service("cdf", run_workers=False) as svc:
            runtime = svc.runtime
            await _sql(runtime, "DELETE FROM forecast_dirty")
            pairs = [
                (r[0], r[1])
                for r in await _sql(
                    runtime,
                    "SELECT DISTINCT provider_ods, entry_id FROM applications WHERE status <> 'rejected' ORDER BY 1, 2",
                )
            ]
            entries = len({e for _, e in pairs})
            print(f"{len(pairs)} trust x entry pairs over {entries} entries")

            # the same results first: every pair, both paths, from no stored forecast
            results = {}
            for name, run in (("per pair (before)", legacy_round), ("batched round (now)", forecast_round)):
                since = await last_outbox_id(runtime)
                await measure(stack, runtime, run, pairs, PAIRS_PER_ROUND, fresh=True)
                results[name] = await snapshot(runtime, since)
            (old_stored, old_events), (new_stored, new_events) = results.values()
            same = old_stored == new_stored and old_events == new_events
            print(f"identical forecasts ({len(new_stored)}) and events ({len(new_events)}): {same}")
            if not same:
                raise SystemExit("the batched round disagrees with the per-pair path")

            rows = []
            for fresh in (True, False):
                for size in (1, 10, PAIRS_PER_ROUND):
                    figures: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
                    for _ in range(args.repeats):  # alternate, so both see the same machine load
                        figures["before"].append(await measure(stack, runtime, legacy_round, pairs, size, fresh))
                        figures["now"].append(await measure(stack, runtime, forecast_round, pairs, size, fresh))
                    row: dict[str, float | str] = {"forecast": "changed" if fresh else "unchanged", "pairs/round": size}
                    for name, runs in figures.items():
                        for key in ("cpu", "pg", "wall"):
                            row[f"{name}_{key}"] = round(statistics.median(r[key] for r in runs), 2)
                    row["cpu_ratio"] = round(float(row["before_cpu"]) / float(row["now_cpu"]), 1)
                    rows.append(row)
            print_table(
                "milliseconds per recomputed pair (median of repeats): forecaster CPU, PostgreSQL CPU, wall", rows
            )
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    asyncio.run(main())
