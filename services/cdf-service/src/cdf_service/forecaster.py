"""The forecaster: recomputes the spend forecast of each trust x entry whose approvals or treatments changed.

Writers append (trust, entry) to `forecast_dirty` in the transaction of their change. This background
job takes a batch of those rows (FOR UPDATE SKIP LOCKED, so replicas share them), recomputes each pair
for the financial year of today with the pure model in domain.forecast, stores the result and emits
`cdf.forecast.updated` when its months differ from the stored ones, and deletes the rows it took, all
in one transaction: a crash leaves them for the next round, and a change committed meanwhile has its
own row.

A round costs the same few statements whatever its number of pairs (up to PAIRS_PER_ROUND): one takes
and deletes the rows (`_TAKE`), one takes the trusts' locks, one reads every application of the
round's entries with the pairs' cycle counts (`_INPUTS`); the list entries come from the process's
copy of the national list (`list_cache`); each entry's Kaplan–Meier curve and start rate are computed
once; one statement upserts every forecast and answers which ones changed (`_STORE`); the events go to
the outbox at commit. Plain SQL built once, executed on the Core connection (no ORM objects). A small
SACT upload recomputes the pairs it changed in its own transaction with the same code
(`recompute_pairs`), without marking them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from casework.financial_year import financial_year_of
from casework.logs import get_logger
from casework.periodic import wait_for_wake
from casework.runtime import ServiceRuntime
from casework.uow import UnitOfWork
from cdf_service.db.forecast_repo import FORECASTER
from cdf_service.db.list_cache import list_cache
from cdf_service.db.trust_locks import lock_trusts
from cdf_service.domain.forecast import (
    ForecastOutturn,
    PendingApproval,
    Treatment,
    forecast_entry,
    historical_start_rate,
    run_rate_outturn,
)
from cdf_service.domain.national_list import ListEntry
from cdf_service.domain.time_on_treatment import (
    KaplanMeierCurve,
    observation_from_treatment,
    time_on_treatment_curve,
)

log = get_logger(__name__)
PAIRS_PER_ROUND = 100
ROWS_PER_ROUND = PAIRS_PER_ROUND * 20  # dirty rows looked at per round (a pair is often marked many times)
HISTORY_STATES = frozenset({"treatment_started", "treatment_stopped", "lapsed", "withdrawn"})

# Taking a round: the oldest unlocked dirty rows (`taken`), their first PAIRS_PER_ROUND distinct pairs
# in code-point order (as Python sorts them: `chosen`), and every taken row of those pairs deleted
# (`taken` is materialised, so the rows locked are the rows deleted). Answers the round's pairs.
_TAKE = text(
    """
    WITH taken AS MATERIALIZED (
        SELECT id, provider_ods, entry_id FROM forecast_dirty ORDER BY id LIMIT :rows FOR UPDATE SKIP LOCKED
    ), chosen AS (
        SELECT DISTINCT provider_ods COLLATE "C" AS provider_ods, entry_id COLLATE "C" AS entry_id
        FROM taken ORDER BY 1, 2 LIMIT :pairs
    ), gone AS (
        DELETE FROM forecast_dirty d
        USING taken t JOIN chosen c ON c.provider_ods = t.provider_ods AND c.entry_id = t.entry_id
        WHERE d.id = t.id
        RETURNING d.provider_ods, d.entry_id
    )
    SELECT DISTINCT provider_ods, entry_id FROM gone
    """
)
# Everything the given pairs' forecasts need: the applications of their entries, 'own' when it belongs
# to one of the pairs (any but a rejected one: its approvals and treatments, with, for a started one,
# cycles per month of the day they were given and its latest cycle's start and length), else 'other'
# when in HISTORY_STATES (the rest of the entry's history, for its curve and start rate).
_INPUTS = text(
    """
    WITH pairs AS (
        SELECT * FROM unnest(CAST(:providers AS text[]), CAST(:entries AS text[])) AS p(provider_ods, entry_id)
    ), entry_apps AS (
        SELECT a.id, a.provider_ods, a.entry_id, a.status, a.planned_start, a.first_administration,
            a.final_treatment_date, a.closed_at,
            (a.provider_ods, a.entry_id) IN (SELECT provider_ods, entry_id FROM pairs) AS own  -- a hashed subplan
        FROM applications a
        WHERE a.entry_id IN (SELECT entry_id FROM pairs) AND a.status <> 'rejected'
    ), apps AS (
        SELECT * FROM entry_apps WHERE own OR status = ANY(CAST(:history AS text[]))
    )
    SELECT CASE WHEN a.own THEN 'own' ELSE 'other' END AS kind, a.provider_ods, a.entry_id, a.id, a.status,
        a.planned_start, a.first_administration, a.final_treatment_date, a.closed_at, given.months, given.cycles,
        latest.cycle_start AS last_cycle_start, latest.cycle_length_days AS last_cycle_days
    FROM apps a
    LEFT JOIN LATERAL (
        SELECT array_agg(month) AS months, array_agg(cycles) AS cycles
        FROM (
            SELECT CAST(date_trunc('month', c.given_on) AS date) AS month, count(*) AS cycles
            FROM treatment_cycles c
            WHERE a.own AND a.first_administration IS NOT NULL AND c.application_id = a.id
            GROUP BY 1
        ) per_month
    ) given ON true
    LEFT JOIN LATERAL (
        SELECT c.cycle_start, c.cycle_length_days
        FROM treatment_cycles c
        WHERE a.own AND a.first_administration IS NOT NULL AND c.application_id = a.id
        ORDER BY c.cycle_start DESC
        LIMIT 1
    ) latest ON true
    """
)

# Upserts every forecast of the round and answers the pairs whose months differ from the stored ones:
# the final SELECT reads `forecasts` as it was before the statement (one snapshot for all its parts).
_STORE = text(
    """
    WITH computed AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            provider_ods text, entry_id text, financial_year text, entry_version integer, as_of date, basis text,
            start_rate numeric, actual_to_date numeric, active_projection numeric, pipeline numeric,
            outturn numeric, lower numeric, upper numeric, run_rate_outturn numeric, months jsonb
        )
    ), stored AS (
        INSERT INTO forecasts AS f (
            provider_ods, entry_id, financial_year, entry_version, as_of, basis, start_rate, actual_to_date,
            active_projection, pipeline, outturn, lower, upper, run_rate_outturn, months
        )
        SELECT provider_ods, entry_id, financial_year, entry_version, as_of, basis, start_rate, actual_to_date,
            active_projection, pipeline, outturn, lower, upper, run_rate_outturn, months
        FROM computed
        ON CONFLICT (provider_ods, entry_id, financial_year) DO UPDATE SET
            entry_version = excluded.entry_version, as_of = excluded.as_of, basis = excluded.basis,
            start_rate = excluded.start_rate, actual_to_date = excluded.actual_to_date,
            active_projection = excluded.active_projection, pipeline = excluded.pipeline,
            outturn = excluded.outturn, lower = excluded.lower, upper = excluded.upper,
            run_rate_outturn = excluded.run_rate_outturn, months = excluded.months, computed_at = now()
    )
    SELECT c.provider_ods, c.entry_id FROM computed c
    LEFT JOIN forecasts f
        ON f.provider_ods = c.provider_ods AND f.entry_id = c.entry_id AND f.financial_year = c.financial_year
    WHERE f.months IS DISTINCT FROM c.months
    """
)


async def forecast_round(runtime: ServiceRuntime, as_of: date | None = None) -> int:
    """Recompute the pairs marked dirty (one batch); returns how many pairs were recomputed."""
    async with runtime.unit_of_work() as uow:
        connection = await uow.session.connection()
        taken = await connection.execute(_TAKE, {"rows": ROWS_PER_ROUND, "pairs": PAIRS_PER_ROUND})
        pairs = sorted((r.provider_ods, r.entry_id) for r in taken)
        if pairs:
            await lock_trusts(uow.session, (p[:3] for p, _ in pairs))  # as the SACT matcher does
            await recompute_pairs(uow, runtime, pairs, as_of or date.today())
        await uow.commit()
    return len(pairs)


async def recompute_pairs(
    uow: UnitOfWork, runtime: ServiceRuntime, pairs: Sequence[tuple[str, str]], as_of: date
) -> None:
    """Recompute and store the forecasts of `pairs` in the caller's unit of work (which holds their
    trusts' locks); `cdf.forecast.updated` for each whose months changed."""
    settings: Any = runtime.settings
    connection = await uow.session.connection()
    params = {"providers": [p for p, _ in pairs], "entries": [e for _, e in pairs], "history": sorted(HISTORY_STATES)}
    rows = (await connection.execute(_INPUTS, params)).all()
    cache, entries = list_cache(runtime), {}
    for entry_id in sorted({e for _, e in pairs}):  # the process's copy: no query within its TTL
        found = await cache.entry_for(uow.session, entry_id, as_of, settings.list_cache_ttl_s)
        if found is not None:
            entries[entry_id] = found[0]  # in force on as_of, else the latest version
    await _store(uow, forecast_pairs(pairs, rows, entries, as_of, settings), entries)


async def forecaster(runtime: ServiceRuntime) -> None:
    """Background task: drain the dirty pairs, then wait until a commit marks more (or FORECAST_INTERVAL_S).

    A change after a quiet spell is re-forecast at once; while changes keep coming (approvals at a
    hundred a second), rounds start at most every FORECAST_ROUND_GAP_S and each takes every pair marked
    meanwhile: one round per change cost about five times the CPU per pair of a round of a hundred."""
    settings: Any = runtime.settings
    wake = runtime.wake_signal(FORECASTER)
    while True:
        started = time.monotonic()
        try:
            while await forecast_round(runtime) == PAIRS_PER_ROUND:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("forecast round failed", error=repr(exc))
        await wait_for_wake(wake, settings.forecast_interval_s)
        await asyncio.sleep(max(0.0, started + settings.forecast_round_gap_s - time.monotonic()))


def forecast_pairs(
    pairs: Sequence[tuple[str, str]],
    applications: Iterable[Any],
    entries: Mapping[str, ListEntry],
    as_of: date,
    settings: Any,
) -> list[ForecastOutturn]:
    """The forecast of each (trust, entry) pair, in `pairs`' order, from the rows `_INPUTS` read; each
    entry's curve and start rate are computed once. A pair whose entry is not in `entries` is left out."""
    own: dict[tuple[str, str], list[Any]] = defaultdict(list)
    history: dict[str, list[Any]] = defaultdict(list)
    for row in applications:
        if row.status in HISTORY_STATES:
            history[row.entry_id].append(row)
        if row.kind == "own":
            own[(row.provider_ods, row.entry_id)].append(row)
    bases = {
        entry_id: entry_basis(
            history[entry_id],
            entries[entry_id].cycle_length_days,
            as_of,
            settings.forecast_min_history,
            settings.forecast_default_start_rate,
        )
        for entry_id in {e for _, e in pairs if e in entries}
    }
    results = []
    for provider, entry_id in pairs:
        if entry_id not in entries:
            continue
        treatments, pending = trust_inputs(own[(provider, entry_id)])
        basis = bases[entry_id]
        results.append(
            forecast_entry(
                trust_ods=provider,
                entry=entries[entry_id],
                treatments=treatments,
                pending=pending,
                curve=basis.curve,
                as_of=as_of,
                start_rate=basis.start_rate,
            )
        )
    return results


def trust_inputs(applications: Iterable[Any]) -> tuple[list[Treatment], list[PendingApproval]]:
    """A pair's treatments (started applications, with their cycles per month) and pending approvals."""
    treatments, pending = [], []
    for a in applications:
        if a.first_administration is not None:
            given = dict(zip(a.months, a.cycles, strict=True)) if a.months else {}
            treatments.append(
                Treatment(
                    start=a.first_administration,
                    stop=_stop(a),
                    cycles_by_month=given,
                    last_cycle_start=a.last_cycle_start,
                    cycle_length_days=a.last_cycle_days,
                )
            )
        if a.status == "approved":
            pending.append(PendingApproval(a.planned_start))
    return treatments, pending


def _stop(app: Any) -> date | None:
    """Date of final treatment, or the withdrawal date for a treatment withdrawn while running."""
    if app.final_treatment_date is not None:
        return app.final_treatment_date
    return app.closed_at.date() if app.status == "withdrawn" and app.closed_at else None


@dataclass(frozen=True)
class EntryBasis:
    curve: KaplanMeierCurve | None  # None: the entry's expected duration
    start_rate: float


def entry_basis(
    history: Iterable[Any], cycle_days: int, as_of: date, min_history: int, default_start_rate: float
) -> EntryBasis:
    """Kaplan–Meier curve and start rate of an entry from every trust's history of it (applications
    started, stopped, lapsed or withdrawn)."""
    observations = []
    resolved = started = 0
    for r in history:
        resolved += 1
        if r.first_administration is None:
            continue
        started += 1
        obs = observation_from_treatment(r.first_administration, _stop(r), as_of, cycle_days)
        if obs is not None:
            observations.append(obs)
    curve = time_on_treatment_curve(observations, min_history)
    return EntryBasis(curve, historical_start_rate(started, resolved, default_start_rate))


async def _store(uow: UnitOfWork, results: Sequence[ForecastOutturn], entries: Mapping[str, ListEntry]) -> None:
    """Upsert every result; publish `cdf.forecast.updated` for those whose months changed."""
    stored = [_stored_values(result) for result in results]
    connection = await uow.session.connection()
    written = await connection.execute(_STORE, {"rows": json.dumps(stored, default=str)})
    changed = {(r.provider_ods, r.entry_id) for r in written}
    for result, values in zip(results, stored, strict=True):
        if (result.trust_ods, result.entry_id) in changed:
            uow.emit(
                "cdf.forecast.updated",
                f"{result.trust_ods}:{result.entry_id}:{result.financial_year}",
                payload_of(result, entries[result.entry_id].dmd_id, values["run_rate_outturn"]),
            )


def _stored_values(result: ForecastOutturn) -> dict[str, Any]:
    """A row of `forecasts` (amounts as Decimal, written to JSON as their exact text)."""
    elapsed = financial_year_of(result.as_of).month
    return {
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
        "months": [
            {
                "month": m.month_start.strftime("%Y-%m"),
                "fy_month": m.month,
                "actual": str(m.actual),
                "active": str(m.active),
                "pipeline": str(m.pipeline),
                "total": str(m.total),
            }
            for m in result.months
        ],
    }


def payload_of(result: ForecastOutturn, dmd_id: str, run_rate: Decimal) -> dict[str, Any]:
    """The `cdf.forecast.updated` payload (validated by `uow.emit` against ForecastUpdated); each month's
    `forecast` is its projected part, active + pipeline."""
    return {
        "provider_ods": result.trust_ods,
        "entry_id": result.entry_id,
        "dmd_id": dmd_id,
        "financial_year": result.financial_year,
        "as_of": result.as_of,
        "actual_to_date": result.actual_to_date,
        "forecast_outturn": result.outturn,
        "lower": result.lower,
        "upper": result.upper,
        "run_rate_outturn": run_rate,
        "months": [
            {
                "month": m.month_start.strftime("%Y-%m"),
                "fy_month": m.month,
                "actual": m.actual,
                "forecast": m.active + m.pipeline,
            }
            for m in result.months
        ],
    }
