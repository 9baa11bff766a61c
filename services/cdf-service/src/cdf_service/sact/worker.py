"""The SACT worker: processes stored submissions in the background, one piece per transaction.

Claiming uses FOR UPDATE SKIP LOCKED, so replicas share submissions; a submission whose worker went
silent for SACT_STALE_AFTER_S is taken over and resumes after its last committed piece. Per piece:
parse and validate every row, COPY the accepted rows into sact_rows and the problems into
sact_problems, update the progress counters and drop the piece, all in one transaction (a row applies
whole or not at all, and a crash repeats only the piece in flight). Memory is bounded by one piece.
After the last piece: duplicate administrations are rejected (set-based, in the database), the rows
are matched to approvals, overdue approvals of the trust lapse, and `cdf.sact_submission.processed`
goes out.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text, update

from casework.logs import get_logger
from casework.periodic import wait_for_wake
from casework.runtime import ServiceRuntime
from cdf_service.db import list_repo
from cdf_service.db.models import SactChunk, SactSubmission
from cdf_service.domain.sact_rows import DrugDictionary, RowValidator
from cdf_service.lapse import lapse_overdue
from cdf_service.sact.matcher import ListedDrug, match_submission
from cdf_service.sact.pieces import COPY_COLUMNS, PieceResult, ValidatorSpec, validate_piece
from cdf_service.sact_drugs import reference_drugs

log = get_logger(__name__)
PROBLEM_COLUMNS = ("submission_id", "row_no", "field", "reason")

_CLAIM = text(
    """
    UPDATE sact_submissions SET status = 'processing', started_at = coalesce(started_at, now()),
                                heartbeat_at = now()
    WHERE id = (
        SELECT id FROM sact_submissions
        WHERE status = 'received'
           OR (status = 'processing' AND heartbeat_at < now() - make_interval(secs => :stale))
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        LIMIT 1)
    RETURNING id
    """
)
_DUPLICATES = text(
    # Group, not sort: a hash aggregate finds the few repeated keys in one pass; only their rows are
    # then touched (the first occurrence stays, the others become problems).
    """
    WITH repeated AS (
        SELECT patient_ref, drug_key, regimen_start, cycle_number, administration_date, min(row_no) AS first_row
        FROM sact_rows WHERE submission_id = :sid
        GROUP BY patient_ref, drug_key, regimen_start, cycle_number, administration_date
        HAVING count(*) > 1
    ), removed AS (
        DELETE FROM sact_rows r USING repeated d
        WHERE r.submission_id = :sid AND r.patient_ref = d.patient_ref AND r.drug_key = d.drug_key
          AND r.regimen_start = d.regimen_start AND r.cycle_number = d.cycle_number
          AND r.administration_date = d.administration_date AND r.row_no <> d.first_row
        RETURNING r.row_no, d.first_row
    )
    INSERT INTO sact_problems (submission_id, row_no, field, reason)
    SELECT :sid, row_no, 'CYCLE_NUMBER',
           'duplicate cycle: this administration of the cycle is already in row ' || first_row
    FROM removed
    """
)


class SactWorker:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.settings: Any = runtime.settings
        self._wake = asyncio.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._key = self.settings.patient_ref_key.get_secret_value().encode()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                submission_id = await self.claim()
            except Exception as exc:  # database away: try again at the next poll
                log.warning("sact claim failed", error=repr(exc))
                submission_id = None
            if submission_id is not None:
                await self.process(submission_id)
                continue
            await wait_for_wake(self._wake, self.settings.sact_poll_interval_s)

    async def claim(self) -> uuid.UUID | None:
        async with self.runtime.unit_of_work() as uow:
            claimed = await uow.session.scalar(_CLAIM, {"stale": self.settings.sact_stale_after_s})
            await uow.commit()
        return claimed

    async def process(self, submission_id: uuid.UUID, today: date | None = None) -> None:
        today = today or date.today()
        try:
            async with self.runtime.unit_of_work() as uow:
                submission = await uow.session.get(SactSubmission, submission_id)
                assert submission is not None
                columns, trust = submission.columns, submission.provider_ods[:3]
                pending = range(submission.chunks_done, submission.chunks_total)
                first_row = submission.rows_total
                listed = await list_repo.drug_names(uow.session)
            drugs = DrugDictionary.build(reference_drugs(), listed)
            spec = ValidatorSpec(str(submission_id), tuple(columns), trust, drugs, self._key, today)
            RowValidator(spec.columns, trust, drugs, self._key, today)  # a bad header fails here, not in a child
            started = time.perf_counter()
            timings = await self._pieces(submission_id, pending, first_row, spec)
            timings["ms_rows"] = round((time.perf_counter() - started) * 1000)
            await self._finish(submission_id, trust, listed, today, timings)
        except Exception as exc:
            log.exception("sact submission failed", submission_id=str(submission_id))
            await self._fail(submission_id, f"{type(exc).__name__}: {exc}")

    async def _pieces(
        self, submission_id: uuid.UUID, pending: range, first_row: int, spec: ValidatorSpec
    ) -> dict[str, int]:
        """Validate piece n+1 while piece n is written: Python checks rows while PostgreSQL takes the COPY.
        Returns the time spent waiting for validation and for writing (they overlap)."""
        waited = {"ms_waiting_for_validation": 0.0, "ms_writing": 0.0}
        if not pending:
            return {}
        prepared = asyncio.create_task(self._prepare(spec, pending[0], first_row))
        try:
            for position, seq in enumerate(pending):
                started = time.perf_counter()
                piece = await prepared
                waited["ms_waiting_for_validation"] += time.perf_counter() - started
                first_row += piece.rows
                if position + 1 < len(pending):
                    prepared = asyncio.create_task(self._prepare(spec, pending[position + 1], first_row))
                started = time.perf_counter()
                await self._write(submission_id, seq, piece)
                waited["ms_writing"] += time.perf_counter() - started
        finally:
            if not prepared.done():
                prepared.cancel()
        return {name: round(seconds * 1000) for name, seconds in waited.items()}

    async def _prepare(self, spec: ValidatorSpec, seq: int, first_row: int) -> PieceResult:
        """One stored piece read and validated (in the validation process, or a thread without one)."""
        async with self.runtime.unit_of_work() as uow:
            data = await uow.session.scalar(
                select(SactChunk.data).where(
                    SactChunk.submission_id == uuid.UUID(spec.submission_id), SactChunk.seq == seq
                )
            )
        if data is None:  # pieces are unlogged: a database crash loses them
            raise RuntimeError(f"piece {seq} of the stored file is gone (database restart?); send the file again")
        pool = self._validation_pool()
        if pool is None:
            return await asyncio.to_thread(validate_piece, spec, first_row, data)
        return await asyncio.get_running_loop().run_in_executor(pool, validate_piece, spec, first_row, data)

    def _validation_pool(self) -> ProcessPoolExecutor | None:
        processes = self.settings.sact_validation_processes
        if processes > 0 and self._pool is None:
            # spawn, not fork: the service process runs an event loop, threads and open connections
            self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _write(self, submission_id: uuid.UUID, seq: int, piece: PieceResult) -> None:
        """One piece's rows, problems and progress in one transaction; the piece is dropped with it."""
        async with self.runtime.unit_of_work() as uow:
            submission = await uow.session.get(SactSubmission, submission_id, with_for_update=True)
            assert submission is not None
            raw = await (await uow.session.connection()).get_raw_connection()
            driver: Any = raw.driver_connection
            if piece.csv:
                source = io.BytesIO(piece.csv)
                await driver.copy_to_table("sact_rows", source=source, columns=COPY_COLUMNS, format="csv")
            problems = [(submission_id, row, field, reason) for row, field, reason in piece.problems]
            if problems:
                await driver.copy_records_to_table("sact_problems", records=problems, columns=PROBLEM_COLUMNS)
            rows = piece.rows
            rejected = len({p[1] for p in problems})
            submission.rows_total += rows
            submission.rows_accepted += rows - rejected
            submission.rows_rejected += rejected
            submission.chunks_done = seq + 1
            submission.heartbeat_at = datetime.now(UTC)
            await uow.session.execute(
                SactChunk.__table__.delete().where(SactChunk.submission_id == submission_id, SactChunk.seq == seq)
            )
            await uow.commit()

    async def _finish(
        self,
        submission_id: uuid.UUID,
        trust: str,
        listed: dict[str, tuple[str, ...]],
        today: date,
        timings: dict[str, int],
    ) -> None:
        started = time.perf_counter()
        async with self.runtime.unit_of_work() as uow:
            # One hash aggregate over the whole submission: give it memory so it does not spill to disk.
            await uow.session.execute(text("SET LOCAL work_mem = '256MB'"))
            duplicates = (await uow.session.execute(_DUPLICATES, {"sid": submission_id})).rowcount or 0
            await uow.session.execute(
                update(SactSubmission)
                .where(SactSubmission.id == submission_id)
                .values(
                    rows_accepted=SactSubmission.rows_accepted - duplicates,
                    rows_rejected=SactSubmission.rows_rejected + duplicates,
                    status="matching",
                    heartbeat_at=datetime.now(UTC),
                )
            )
            await uow.commit()
        timings["ms_duplicates"] = round((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        drugs = {name.strip().lower(): ListedDrug(name, ids[0]) for name, ids in listed.items() if ids}
        counts: Counter[str] = await match_submission(self.runtime, submission_id, trust, drugs)
        counts["lapsed"] = await lapse_overdue(self.runtime, today, provider_ods=trust)
        timings["ms_matching"] = round((time.perf_counter() - started) * 1000)
        counts.update(timings)
        await self._processed(submission_id, counts)

    async def _processed(self, submission_id: uuid.UUID, counts: Counter[str]) -> None:
        async with self.runtime.unit_of_work() as uow:
            submission = await uow.session.get(SactSubmission, submission_id, with_for_update=True)
            assert submission is not None
            submission.status = "processed"
            submission.finished_at = datetime.now(UTC)
            submission.matched = dict(counts)
            uow.emit(
                "cdf.sact_submission.processed",
                str(submission.id),
                {
                    "submission_id": submission.id,
                    "provider_ods": submission.provider_ods,
                    "period": submission.period,
                    "rows_total": submission.rows_total,
                    "rows_accepted": submission.rows_accepted,
                    "rows_rejected": submission.rows_rejected,
                },
            )
            uow.audit("system:cdf-sact-worker", "process", "sact_submission", submission.id, detail=dict(counts))
            await uow.commit()
        log.info("sact submission processed", submission_id=str(submission_id), **counts)

    async def _fail(self, submission_id: uuid.UUID, error: str) -> None:
        async with self.runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(SactSubmission)
                .where(SactSubmission.id == submission_id)
                .values(status="failed", error=error[:2000], finished_at=datetime.now(UTC))
            )
            await uow.commit()


async def sact_worker(runtime: ServiceRuntime) -> None:
    """The background task: one worker per process, reachable for the upload route to wake it."""
    worker = SactWorker(runtime)
    runtime.extras["sact_worker"] = worker
    try:
        await worker.run()
    finally:
        worker.close()
