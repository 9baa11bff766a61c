"""The forecaster: recomputes the spend forecast of each trust x entry whose approvals or treatments changed.

Writers append (trust, entry) to `forecast_dirty` in the transaction of their change. This background
job takes a batch of those rows (FOR UPDATE SKIP LOCKED, so replicas share them), recomputes each pair
for the financial year of today with the pure model (domain.forecast_basis.forecast_pairs, the same
path the backtest measures), stores the result and emits `cdf.forecast.updated` when its months differ
from the stored ones, and deletes the rows it took, all in one transaction: a crash leaves them for the
next round, and a change committed meanwhile has its own row.

A round costs a few statements whatever its number of pairs (up to PAIRS_PER_ROUND): one takes and
deletes the rows (`_TAKE`), one takes the trusts' locks, one reads the pairs' own applications with
their cycles per day given and their latest cycle (`_OWN`), one each trust's SACT horizon (`_SACT_TO`);
the list entries come from the process's copy of the national list (`list_cache`). Each entry's basis
(curve, start share, cycle spacing, approval rate) and the national figures (trust shares, band
calibration) are kept between rounds (`forecast_cache`, with its rule for when to rebuild them): only
then are the entry's whole history (`_HISTORY`), the year's approvals (`_APPROVALS`) and the latest
backtest (`_CALIBRATION`) read. One statement upserts every forecast and answers which ones changed
(`_STORE`); the events go to the outbox at commit. Plain SQL built once, executed on the Core connection
(no ORM objects). A small SACT upload recomputes the pairs it changed in its own transaction with the
same code (`recompute_pairs`), without marking them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from casework.clock import today
from casework.financial_year import financial_year_of, fy_start
from casework.worker import Worker
from cdf_service.db.forecast_repo import FORECASTER
from cdf_service.db.list_cache import list_cache
from cdf_service.db.trust_locks import lock_trusts
from cdf_service.domain.forecast import Band, BandCalibration, ForecastOutturn, month_end, run_rate_outturn
from cdf_service.domain.forecast_basis import (
    RATE_WINDOW_DAYS,
    ForecastContext,
    entry_basis,
    forecast_pairs,
    trust_shares,
)
from cdf_service.domain.forecast_inputs import months_covered
from cdf_service.domain.national_list import EntryTerms, ListEntry, entry_as_of
from cdf_service.domain.sact_submissions import SubmissionStatus
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.use_cases.forecast_cache import ForecastCache, forecast_cache

PAIRS_PER_ROUND = 100
ROWS_PER_ROUND = PAIRS_PER_ROUND * 20  # dirty rows looked at per round (a pair is often marked many times)

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
# The days a started application's cycles were given (a dispensed pack: the day it was dispensed, for
# all its cycles) and how many on each day, in day order; and the start and length (SACT v4.0 item 82)
# of its latest cycle.
_CYCLES_PER_DAY = """
    LEFT JOIN LATERAL (
        SELECT array_agg(day ORDER BY day) AS months, array_agg(cycles ORDER BY day) AS cycles
        FROM (
            SELECT c.given_on AS day, count(*) AS cycles
            FROM treatment_cycles c
            WHERE a.first_administration IS NOT NULL AND c.application_id = a.id
            GROUP BY 1
        ) per_day
    ) given ON true
    LEFT JOIN LATERAL (
        SELECT c.cycle_start, c.cycle_length_days
        FROM treatment_cycles c
        WHERE a.first_administration IS NOT NULL AND c.application_id = a.id
        ORDER BY c.cycle_start DESC, c.cycle_number DESC
        LIMIT 1
    ) latest ON true
"""
_ROW = (
    "a.provider_ods, a.entry_id, a.status, a.planned_start, CAST(a.created_at AS date) AS created, "
    "a.first_administration, a.final_treatment_date, a.closed_at, given.months, given.cycles, "
    "latest.cycle_start AS last_cycle_start, latest.cycle_length_days AS last_cycle_days"
)
# The pairs' own applications (any but a rejected one) that can matter this year: still live, decided
# within the approval-rate window, or stopped or closed this financial year.
_OWN = text(
    f"""
    WITH pairs AS (
        SELECT * FROM unnest(CAST(:providers AS text[]), CAST(:entries AS text[])) AS p(provider_ods, entry_id)
    )
    SELECT {_ROW}
    FROM applications a
    JOIN pairs p ON p.provider_ods = a.provider_ods AND p.entry_id = a.entry_id
    {_CYCLES_PER_DAY}
    WHERE a.status <> 'rejected'
      AND (a.status IN ('approved', 'treatment_started') OR a.created_at >= :rates_from
           OR a.final_treatment_date >= :year_start OR a.closed_at >= :year_start)
    """
)
# Every trust's application of the given entries (for their bases, when they are rebuilt).
_HISTORY = text(
    f"""
    SELECT {_ROW}
    FROM applications a
    {_CYCLES_PER_DAY}
    WHERE a.entry_id = ANY(CAST(:entries AS text[])) AND a.status <> 'rejected'
    """
)
# Each trust's latest processed SACT month: its SACT covers up to that month's end.
_SACT_TO = text(
    "SELECT left(provider_ods, 3) AS trust, max(period) AS period FROM sact_submissions "
    f"WHERE status = '{SubmissionStatus.PROCESSED}' GROUP BY 1"
)
_APPROVALS = text(
    "SELECT provider_ods, CAST(created_at AS date) AS created FROM applications "
    "WHERE status <> 'rejected' AND created_at >= :since"
)
_CALIBRATION = text("SELECT calibration FROM forecast_backtests ORDER BY id DESC LIMIT 1")

# Upserts every forecast of the round and answers the pairs whose months differ from the stored ones:
# the final SELECT reads `forecasts` as it was before the statement (one snapshot for all its parts).
_STORE = text(
    """
    WITH computed AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            provider_ods text, entry_id text, financial_year text, entry_version integer, as_of date, sact_to date,
            basis text, start_rate numeric, actual_to_date numeric, active_projection numeric, pipeline numeric,
            new_approvals numeric, outturn numeric, lower numeric, upper numeric, run_rate_outturn numeric,
            months jsonb
        )
    ), stored AS (
        INSERT INTO forecasts AS f (
            provider_ods, entry_id, financial_year, entry_version, as_of, sact_to, basis, start_rate,
            actual_to_date, active_projection, pipeline, new_approvals, outturn, lower, upper, run_rate_outturn,
            months
        )
        SELECT provider_ods, entry_id, financial_year, entry_version, as_of, sact_to, basis, start_rate,
            actual_to_date, active_projection, pipeline, new_approvals, outturn, lower, upper, run_rate_outturn,
            months
        FROM computed
        ON CONFLICT (provider_ods, entry_id, financial_year) DO UPDATE SET
            entry_version = excluded.entry_version, as_of = excluded.as_of, sact_to = excluded.sact_to,
            basis = excluded.basis, start_rate = excluded.start_rate, actual_to_date = excluded.actual_to_date,
            active_projection = excluded.active_projection, pipeline = excluded.pipeline,
            new_approvals = excluded.new_approvals, outturn = excluded.outturn, lower = excluded.lower,
            upper = excluded.upper,
            run_rate_outturn = excluded.run_rate_outturn, months = excluded.months, computed_at = now()
    )
    SELECT c.provider_ods, c.entry_id FROM computed c
    LEFT JOIN forecasts f
        ON f.provider_ods = c.provider_ods AND f.entry_id = c.entry_id AND f.financial_year = c.financial_year
    WHERE f.months IS DISTINCT FROM c.months
    """
)


async def forecast_round(runtime: CdfRuntime, as_of: date | None = None) -> int:
    """Recompute the pairs marked dirty (one batch); returns how many pairs were recomputed."""
    async with runtime.unit_of_work() as uow:
        connection = await uow.session.connection()
        taken = await connection.execute(_TAKE, {"rows": ROWS_PER_ROUND, "pairs": PAIRS_PER_ROUND})
        pairs = sorted((r.provider_ods, r.entry_id) for r in taken)
        if pairs:
            await lock_trusts(uow.session, (p[:3] for p, _ in pairs))  # as the SACT matcher does
            await recompute_pairs(uow, runtime, pairs, as_of=as_of or today())
        await uow.commit()
    return len(pairs)


async def recompute_pairs(
    uow: CdfUnitOfWork, runtime: CdfRuntime, pairs: Sequence[tuple[str, str]], *, as_of: date
) -> None:
    """Recompute and store the forecasts of `pairs` in the caller's unit of work (which holds their
    trusts' locks); `cdf.forecast.updated` for each whose months changed."""
    connection = await uow.session.connection()
    terms, entries = await _list_terms(uow, runtime, {e for _, e in pairs}, as_of)
    context = await _context(connection, runtime, as_of)
    cache = forecast_cache(runtime)
    await _refresh_bases(connection, cache, context, terms, entries)
    year_start = fy_start(financial_year_of(as_of).financial_year)
    params = {
        "providers": [p for p, _ in pairs],
        "entries": [e for _, e in pairs],
        "year_start": year_start,
        "rates_from": as_of - timedelta(days=RATE_WINDOW_DAYS),
    }
    own = (await connection.execute(_OWN, params)).all()
    bases = {entry_id: cache.basis(entry_id) for entry_id in entries}
    results = forecast_pairs(pairs, own, terms, entries, context, bases)
    cache.recomputed(e for _, e in pairs if e in entries)
    await _store(uow, results, entries)


async def _list_terms(
    uow: CdfUnitOfWork, runtime: CdfRuntime, entry_ids: Iterable[str], as_of: date
) -> tuple[dict[str, EntryTerms], dict[str, ListEntry]]:
    """Each entry's versions (the process's copy: no query within its TTL) and the one in force on as_of,
    else the latest."""
    ttl: float = runtime.settings.list_cache_ttl_s
    cache, terms, entries = list_cache(runtime), {}, {}
    for entry_id in sorted(entry_ids):
        versions = await cache.versions(uow.session, entry_id, ttl)
        if versions:
            terms[entry_id] = EntryTerms(versions)
            entries[entry_id] = entry_as_of(versions, as_of) or versions[-1]
    return terms, entries


async def _context(connection: Any, runtime: CdfRuntime, as_of: date) -> ForecastContext:
    """Each trust's SACT horizon (read every round) and the national figures (kept: `forecast_cache`)."""
    settings = runtime.settings
    sact_to = {r.trust: month_end(date.fromisoformat(f"{r.period}-01")) for r in await connection.execute(_SACT_TO)}
    cache = forecast_cache(runtime)
    national = cache.national(as_of)
    if national is None:
        since = datetime.combine(as_of - timedelta(days=RATE_WINDOW_DAYS), time.min, UTC)
        approvals = [(r.provider_ods, r.created) for r in await connection.execute(_APPROVALS, {"since": since})]
        stored = (await connection.execute(_CALIBRATION)).scalar()
        national = cache.keep_national(trust_shares(approvals, as_of), calibration_of(stored), as_of)
    return ForecastContext(
        as_of=as_of,
        sact_to=sact_to,
        shares=national.shares,
        calibration=national.calibration,
        min_history=settings.forecast_min_history,
        default_start_rate=settings.forecast_default_start_rate,
    )


async def _refresh_bases(
    connection: Any,
    cache: ForecastCache,
    context: ForecastContext,
    terms: Mapping[str, EntryTerms],
    entries: Mapping[str, ListEntry],
) -> None:
    """Rebuild from its whole history the basis of each entry the cache's rule says is out of date."""
    stale = sorted(e for e in entries if cache.stale(e, context.as_of, terms[e].versions))
    if not stale:
        return
    history: dict[str, list[Any]] = defaultdict(list)
    for row in await connection.execute(_HISTORY, {"entries": stale}):
        history[row.entry_id].append(row)
    for entry_id in stale:
        rows = history[entry_id]
        basis = entry_basis(rows, entries[entry_id], terms[entry_id], context)
        cache.keep(entry_id, basis, context.as_of, versions=terms[entry_id].versions, history=len(rows))


def calibration_of(stored: Mapping[str, Any] | None) -> BandCalibration:
    """The band calibration a backtest stored ({"6": [low, high], ...}); none stored: the normal band."""
    if not stored:
        return BandCalibration()
    return BandCalibration({int(months): Band(float(low), float(high)) for months, (low, high) in stored.items()})


async def forecaster(runtime: CdfRuntime) -> None:
    """Background task: drain the dirty pairs, then wait until a commit marks more (or FORECAST_INTERVAL_S).

    A change after a quiet spell is re-forecast at once; while changes keep coming (approvals at a
    hundred a second), rounds start at most every FORECAST_ROUND_GAP_S and each takes every pair marked
    meanwhile: one round per change cost about five times the CPU per pair of a round of a hundred.
    A failing round is logged and the next comes after the same wait (a `casework.worker.Worker`
    without backoff)."""
    settings = runtime.settings

    async def one_round() -> bool:
        return await forecast_round(runtime) == PAIRS_PER_ROUND  # a full round: more are waiting

    worker = Worker(
        FORECASTER,
        one_round,
        service=settings.service_name,
        poll_s=lambda: settings.forecast_interval_s,
        wake=runtime.wake_signal(FORECASTER),
        failure_message="forecast round failed",
        round_gap_s=lambda: settings.forecast_round_gap_s,
    )
    await worker.run()


async def _store(uow: CdfUnitOfWork, results: Sequence[ForecastOutturn], entries: Mapping[str, ListEntry]) -> None:
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
    elapsed = max(1, months_covered(result.sact_to, result.financial_year))
    return {
        "provider_ods": result.trust_ods,
        "entry_id": result.entry_id,
        "financial_year": result.financial_year,
        "entry_version": result.entry_version,
        "as_of": result.as_of,
        "sact_to": result.sact_to,
        "basis": result.basis.value,
        "start_rate": Decimal(str(round(result.start_rate, 4))),
        "actual_to_date": result.actual_to_date,
        "active_projection": result.active_projection,
        "pipeline": result.pipeline,
        "new_approvals": result.new_approvals,
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
                "new_approvals": str(m.new_approvals),
                "total": str(m.total),
            }
            for m in result.months
        ],
    }


def payload_of(result: ForecastOutturn, dmd_id: str, run_rate: Decimal) -> dict[str, Any]:
    """The `cdf.forecast.updated` payload (validated by `uow.emit` against ForecastUpdated); each month's
    `forecast` is its projected part, active + pipeline + new approvals."""
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
                "forecast": m.projected,
            }
            for m in result.months
        ],
    }
