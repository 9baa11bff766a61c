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
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text, update

from casework.logs import get_logger
from casework.runtime import ServiceRuntime
from cdf_service.db import list_repo
from cdf_service.db.models import SactChunk, SactSubmission
from cdf_service.domain.sact_rows import Administration, DrugDictionary, RowValidator
from cdf_service.lapse import lapse_overdue
from cdf_service.sact.matcher import ListedDrug, match_submission
from cdf_service.sact.records import rows_of
from cdf_service.sact_drugs import reference_drugs

log = get_logger(__name__)
ROW_COLUMNS = ("submission_id", "row_no", *Administration._fields)
PROBLEM_COLUMNS = ("submission_id", "row_no", "field", "reason")
YIELD_EVERY = 4096  # rows between yields to the event loop, so the API stays responsive

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
    """
    WITH ranked AS (
        SELECT row_no, min(row_no) OVER (
                   PARTITION BY patient_ref, drug_key, regimen_start, cycle_number, administration_date
               ) AS first_row
        FROM sact_rows WHERE submission_id = :sid
    ), removed AS (
        DELETE FROM sact_rows r USING ranked d
        WHERE r.submission_id = :sid AND r.row_no = d.row_no AND d.row_no <> d.first_row
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
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.sact_poll_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()

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
            validator = RowValidator(
                columns,
                trust,
                DrugDictionary.build(reference_drugs(), listed),
                self.settings.patient_ref_key.get_secret_value(),
                today,
            )
            started = time.perf_counter()
            await self._pieces(submission_id, pending, first_row, validator)
            timings = {"ms_rows": round((time.perf_counter() - started) * 1000)}
            await self._finish(submission_id, trust, listed, today, timings)
        except Exception as exc:
            log.exception("sact submission failed", submission_id=str(submission_id))
            await self._fail(submission_id, f"{type(exc).__name__}: {exc}")

    async def _pieces(self, submission_id: uuid.UUID, pending: range, first_row: int, validator: RowValidator) -> None:
        """Validate piece n+1 while piece n is written: Python checks rows while PostgreSQL takes the COPY."""
        if not pending:
            return
        prepared = asyncio.create_task(_prepare(self.runtime, submission_id, pending[0], first_row, validator))
        try:
            for position, seq in enumerate(pending):
                records, problems, rows = await prepared
                first_row += rows
                if position + 1 < len(pending):
                    prepared = asyncio.create_task(
                        _prepare(self.runtime, submission_id, pending[position + 1], first_row, validator)
                    )
                await self._write(submission_id, seq, records, problems, rows)
        finally:
            if not prepared.done():
                prepared.cancel()

    async def _write(
        self,
        submission_id: uuid.UUID,
        seq: int,
        records: list[tuple[Any, ...]],
        problems: list[tuple[Any, ...]],
        rows: int,
    ) -> None:
        """One piece's rows, problems and progress in one transaction; the piece is dropped with it."""
        async with self.runtime.unit_of_work() as uow:
            submission = await uow.session.get(SactSubmission, submission_id, with_for_update=True)
            assert submission is not None
            raw = await (await uow.session.connection()).get_raw_connection()
            driver: Any = raw.driver_connection
            if records:
                await driver.copy_records_to_table("sact_rows", records=records, columns=ROW_COLUMNS)
            if problems:
                await driver.copy_records_to_table("sact_problems", records=problems, columns=PROBLEM_COLUMNS)
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
            # One sort of the whole submission: give it memory so it does not spill to disk.
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


async def _prepare(
    runtime: ServiceRuntime, submission_id: uuid.UUID, seq: int, first_row: int, validator: RowValidator
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """One stored piece read and validated: its accepted rows, its problems and how many rows it had."""
    async with runtime.unit_of_work() as uow:
        data = await uow.session.scalar(
            select(SactChunk.data).where(SactChunk.submission_id == submission_id, SactChunk.seq == seq)
        )
    if data is None:  # pieces are unlogged: a database crash loses them
        raise RuntimeError(f"piece {seq} of the stored file is gone (database restart?); send the file again")
    return await _validate(submission_id, first_row, data, validator)


async def _validate(
    submission_id: uuid.UUID, first_row: int, data: bytes, validator: RowValidator
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Accepted rows and problems of one piece, numbered on from `first_row`; yields to the loop now and then."""
    records: list[tuple[Any, ...]] = []
    problems: list[tuple[Any, ...]] = []
    row_no = first_row
    validate = validator.validate
    for cells in rows_of(data):
        row_no += 1
        result = validate(cells)
        if type(result) is Administration:
            records.append((submission_id, row_no, *result))
        else:
            problems.extend((submission_id, row_no, p.field, p.reason) for p in result)
        if not row_no % YIELD_EVERY:
            await asyncio.sleep(0)
    return records, problems, row_no - first_row


async def sact_worker(runtime: ServiceRuntime) -> None:
    """The background task: one worker per process, reachable for the upload route to wake it."""
    worker = SactWorker(runtime)
    runtime.extras["sact_worker"] = worker
    await worker.run()
