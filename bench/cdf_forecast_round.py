"""cdf-service's forecaster: CPU per recomputed trust x list entry pair, with each entry's basis kept between
rounds (as the service runs) beside the same forecaster rebuilding every basis from the entry's whole
history in every round (`ForecastCache` keeping nothing), in the same run on the same data.

Setup: the seeded national list and synthetic trusts (`cdf_service.synthetic`: clinicians, approvals,
SACT files matched into starts, stops and cycles) loaded through the public API of `casework serve cdf`
in its own process. Then the service runs in this process with its workers off, every trust x entry
pair with applications is marked dirty in rounds of 1, 10 and 100 pairs, and each round is timed:
- changed: the pairs' stored forecasts are deleted first, so every pair is stored and publishes
  `cdf.forecast.updated` (what a SACT start costs);
- unchanged: the stored forecasts are already right, so nothing is published.
CPU is this process's (the forecaster) and PostgreSQL's (every backend, from /proc, 10 ms ticks, so
small rounds average out only over many rounds). Both must leave identical forecasts and events.

    .venv/bin/python bench/cdf_forecast_round.py [--trusts 6] [--patients 150] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdf_common import CpuMeter
from bench.harness import infrastructure, print_table
from casework.runtime import ServiceRuntime
from cdf_service.synthetic.national import TrustPlan
from cdf_service.synthetic.populate import populate
from cdf_service.use_cases.forecast_cache import ForecastCache
from cdf_service.use_cases.forecaster import PAIRS_PER_ROUND, forecast_round
from embedded_stack.testing import TestStack

TRUSTS = ("RRV", "RGT", "RTH", "RM1", "RWE", "RA7", "RJ1", "RX1")
Round = Callable[[ServiceRuntime], Awaitable[int]]


# --- The two ways of running a round ----------------------------------------------------------------


async def rebuilt_round(runtime: ServiceRuntime, as_of: date | None = None) -> int:
    """A round whose forecaster keeps nothing: every entry's history read and its basis rebuilt."""
    runtime.extras["forecast_cache"] = ForecastCache(refresh_share=0.05, max_age_s=0)
    return await forecast_round(runtime, as_of)


async def kept_round(runtime: ServiceRuntime, as_of: date | None = None) -> int:
    """A round as the service runs it: bases kept between rounds under the cache's rule."""
    kept = runtime.extras.get("bench_kept")
    if not isinstance(kept, ForecastCache):
        kept = runtime.extras["bench_kept"] = ForecastCache(refresh_share=0.05, max_age_s=3600)
    runtime.extras["forecast_cache"] = kept
    return await forecast_round(runtime, as_of)


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
        "SELECT provider_ods, entry_id, financial_year, entry_version, as_of, sact_to, basis, start_rate, "
        "actual_to_date, active_projection, pipeline, new_approvals, outturn, lower, upper, run_rate_outturn, months "
        "FROM forecasts "
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
            for name, run in (("rebuilt every round (before)", rebuilt_round), ("kept (now)", kept_round)):
                since = await last_outbox_id(runtime)
                await measure(stack, runtime, run, pairs, PAIRS_PER_ROUND, fresh=True)
                results[name] = await snapshot(runtime, since)
            (old_stored, old_events), (new_stored, new_events) = results.values()
            same = old_stored == new_stored and old_events == new_events
            print(f"identical forecasts ({len(new_stored)}) and events ({len(new_events)}): {same}")
            if not same:
                raise SystemExit("the forecaster with kept bases disagrees with the one rebuilding them")

            rows = []
            for fresh in (True, False):
                for size in (1, 10, PAIRS_PER_ROUND):
                    figures: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
                    for _ in range(args.repeats):  # alternate, so both see the same machine load
                        figures["before"].append(await measure(stack, runtime, rebuilt_round, pairs, size, fresh))
                        figures["now"].append(await measure(stack, runtime, kept_round, pairs, size, fresh))
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
