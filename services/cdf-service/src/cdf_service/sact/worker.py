"""The SACT worker: processes stored submissions in the background.

Claiming uses FOR UPDATE SKIP LOCKED, so the worker's loops and replicas share submissions; a
submission whose worker went silent for SACT_STALE_AFTER_S is taken over and resumes after its last
committed piece (the claim and its token: sact.claims; an upload still arriving: sact.upload_progress).
Two ways through (the row steps are in sact.processing; matching, lapsing, re-forecasting and finishing
with the event are use cases: use_cases.sact_matching, .lapse, .forecaster, .sact_processing):

- **At once**: a small upload (one piece, at most SACT_INLINE_MAX_BYTES) is validated in the worker
  and written, checked for duplicates, matched, lapsed and marked processed in one transaction: a
  trust's system sending a few rows sees the effects, and the forecast move, within milliseconds.
  Small uploads of one trust waiting together (a burst) are claimed together, up to SACT_BATCH_MAX
  (sact.claims), and go through that one transaction in upload order: one hold of the trust's lock,
  one re-forecast of the pairs they changed, one lapse. Should the transaction fail, each is processed
  alone, so one bad upload fails by itself.
- **In pieces**: a large file is taken up while it is still being uploaded. Pieces are validated in
  SACT_VALIDATION_PROCESSES processes side by side (the Python work of a million rows), each written in
  its own transaction in file order (rows, problems, progress, the piece dropped: a row applies whole
  or not at all, and a crash repeats only the piece in flight). Memory is bounded by the pieces in
  flight. After the last piece, duplicates are rejected (set-based, in the database), the rows are
  matched to approvals in batches, overdue approvals of the trust lapse, and
  `cdf.sact_submission.processed` goes out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text

from casework import clock
from casework.child_processes import die_with_parent
from casework.logs import get_logger
from casework.tracing import continued
from casework.worker import Worker
from cdf_service.db.list_cache import list_cache
from cdf_service.domain.sact_records import count_rows
from cdf_service.domain.sact_rows import DrugDictionary, RepeatedChecksums
from cdf_service.domain.sact_submissions import SubmissionStep, next_status
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.sact.claims import Claimed, claim_next, fail_claimed, holding, locked
from cdf_service.sact.pieces import PieceResult, ValidatorSpec, check_header, validate_stored_piece
from cdf_service.sact.processing import (
    ClaimLost,
    SubmissionGone,
    copy_piece,
    listed_drugs,
    lost_or_gone,
    read_piece,
    reject_duplicates,
    write_piece,
    written_checksums,
)
from cdf_service.sact.upload_progress import UploadProgress
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import CURRENT, SCHEMAS
from cdf_service.use_cases.forecaster import recompute_pairs
from cdf_service.use_cases.lapse import BATCH as LAPSE_BATCH
from cdf_service.use_cases.lapse import lapse_batch, lapse_overdue
from cdf_service.use_cases.sact_intake import SACT_WORKER
from cdf_service.use_cases.sact_matching import match_pairs, match_submission
from cdf_service.use_cases.sact_processing import announce_processed, record_processed, stage_small_finished

log = get_logger(__name__)

_LOAD_SMALL = text(
    """
    SELECT s.provider_ods, s.period, s.columns, s.sact_version, s.chunks_total, c.data
    FROM sact_submissions s LEFT JOIN sact_chunks c ON c.submission_id = s.id AND c.seq = 0
    WHERE s.id = :sid AND s.claim_token = :token
    FOR UPDATE OF s
    """
)


@dataclass
class _Matched:
    """A small submission written and matched, to be finished at the commit."""

    submission_id: uuid.UUID
    provider_ods: str
    period: str
    chunks_total: int
    totals: tuple[int, int, int]  # rows: total, accepted, rejected
    counts: Counter[str]
    changed: set[tuple[str, str]]  # (provider, entry) pairs whose forecast the match changed


@dataclass
class _InFlight:
    seq: int
    first_row: int
    result: asyncio.Future[PieceResult]


class SactWorker:
    def __init__(self, runtime: CdfRuntime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._wake = runtime.wake_signal(SACT_WORKER)
        self._pool: ProcessPoolExecutor | None = None
        self._key = self.settings.patient_ref_key.get_secret_value().encode()
        self._dictionary: tuple[dict[str, tuple[str, ...]], DrugDictionary] | None = None

    async def run(self) -> None:
        """One claimer; each claimed submission is processed in a task of its own, SACT_WORKERS at once.
        (One claimer rather than a loop per slot: a wake-up then costs one claim query, not one each.)
        Idle, or after a failed claim (the database away, say), the claimer waits for an upload's wake-up
        or SACT_POLL_INTERVAL_S (a `casework.worker.Worker` without backoff)."""
        slots = asyncio.Semaphore(max(self.settings.sact_workers, 1))
        working: set[asyncio.Task[None]] = set()

        async def claim_round() -> bool:
            """A free slot, then a claim: True (the next claim at once) when a submission was claimed."""
            await slots.acquire()
            try:
                claimed = await self.claim()
            except BaseException:
                slots.release()  # a failed claim holds no slot while the worker waits for the next poll
                raise
            if not claimed:
                slots.release()
                return False
            task = asyncio.create_task(self._process_in_slot(claimed, slots))
            working.add(task)
            task.add_done_callback(working.discard)
            return True

        worker = Worker(
            SACT_WORKER,
            claim_round,
            service=self.settings.service_name,
            poll_s=lambda: self.settings.sact_poll_interval_s,
            wake=self._wake,
            failure_message="sact claim failed",
        )
        try:
            await worker.run()
        finally:
            for task in working:
                task.cancel()
            await asyncio.gather(*working, return_exceptions=True)

    async def _process_in_slot(self, claimed: list[Claimed], slots: asyncio.Semaphore) -> None:
        try:
            if len(claimed) == 1:
                await self.process(claimed[0])
            else:
                await self.process_together(claimed)
        finally:
            slots.release()

    async def claim(self) -> list[Claimed]:
        return await claim_next(self.runtime)

    async def process_together(self, claimed: list[Claimed], today: date | None = None) -> None:
        """Small submissions of one trust in one transaction; each alone should that fail."""
        today = today or clock.today()
        attributes = {"casework.sact_submissions": len(claimed), "casework.sact_at_once": True}
        try:
            with continued("sact submissions process together", claimed[0].trace_context, attributes=attributes):
                await self._at_once(claimed, today)
        except Exception as exc:  # ClaimLost and SubmissionGone too: processed alone, each says which
            log.warning("sact submissions processed together failed; each alone now", error=repr(exc))
            for one in claimed:
                await self.process(one, today)

    async def process(self, claimed: Claimed, today: date | None = None) -> None:
        today = today or clock.today()
        small = claimed.small(self.settings.sact_inline_max_bytes)
        attributes: dict[str, str | bool] = {
            "casework.sact_submission_id": str(claimed.id),
            "casework.sact_at_once": small,
        }
        try:
            with continued("sact submission process", claimed.trace_context, attributes=attributes):
                await self._run(claimed, small, today)
        except SubmissionGone:
            log.info("sact submission removed while processing (its upload failed)", submission_id=str(claimed.id))
        except ClaimLost:
            log.warning("sact submission taken over by another worker; this one stops", submission_id=str(claimed.id))
        except Exception as exc:
            if await fail_claimed(self.runtime, claimed, f"{type(exc).__name__}: {exc}"):
                log.exception("sact submission failed", submission_id=str(claimed.id))
            else:  # its stored pieces went with the claim, say: not this worker's to fail any more
                log.warning("sact submission taken over by another worker; this one stops", error=repr(exc))

    async def _run(self, claimed: Claimed, small: bool, today: date) -> None:
        if small:
            await self._at_once([claimed], today)
        else:
            await self._in_pieces(claimed, today)

    # -- at once ----------------------------------------------------------------------------------

    async def _at_once(self, batch: list[Claimed], today: date) -> None:
        """Small submissions of one trust (one, or a burst claimed together) in one transaction: each
        validated, written, checked for duplicates and matched in upload order (each sees the rows of
        those before it, as it would after their commits), then the pairs they changed re-forecast
        once, the trust's overdue approvals lapsed once (counted on the last), and each marked processed
        with its event."""
        async with self.runtime.unit_of_work() as uow:
            listed = await self._listed(uow)
            matched = [await self._write_and_match(uow, claimed, listed, today) for claimed in batch]
            changed = set().union(*(m.changed for m in matched))
            if changed:  # re-forecast here, under the trust's lock the matcher holds: no forecaster round
                await recompute_pairs(uow, self.runtime, sorted(changed), as_of=today)
            trust = matched[0].provider_ods[:3]  # one trust: sact.claims claims a batch of one trust
            lapsed = matched[-1].counts["lapsed"] = await lapse_batch(uow, today, trust)
            for m in matched:
                stage_small_finished(uow, m.submission_id, chunks=m.chunks_total, totals=m.totals, counts=m.counts)
                announce_processed(
                    uow, m.submission_id, provider_ods=m.provider_ods, period=m.period, totals=m.totals, counts=m.counts
                )
            await uow.commit()
        if lapsed == LAPSE_BATCH:  # more than one batch overdue: the rest in their own transactions
            await lapse_overdue(self.runtime, today, provider_ods=trust)

    async def _write_and_match(
        self, uow: CdfUnitOfWork, claimed: Claimed, listed: dict[str, tuple[str, ...]], today: date
    ) -> _Matched:
        """A small submission's rows validated, written, checked for duplicates and matched."""
        submission_id = claimed.id
        loaded = (await uow.session.execute(_LOAD_SMALL, {"sid": submission_id, "token": claimed.token})).first()
        if loaded is None:
            raise await lost_or_gone(uow, submission_id)
        trust = loaded.provider_ods[:3]
        spec = self._spec(submission_id, trust, (loaded.sact_version, loaded.columns), listed, today)
        piece = validate_stored_piece(spec, 0, loaded.data) if loaded.data is not None else PieceResult(b"", [], 0)
        await copy_piece(uow, submission_id, piece)
        duplicates = await reject_duplicates(uow, submission_id, RepeatedChecksums(piece.keys))
        keys = sorted(piece.listed)
        counts: Counter[str] = Counter(pairs=len(keys), lapsed=0)
        changed = await match_pairs(
            uow, keys, submission_id=submission_id, trust=trust, listed=listed_drugs(listed), counts=counts, mark=False
        )
        totals = (piece.rows, piece.rows - piece.rejected - duplicates, piece.rejected + duplicates)
        return _Matched(submission_id, loaded.provider_ods, loaded.period, loaded.chunks_total, totals, counts, changed)

    # -- in pieces --------------------------------------------------------------------------------

    async def _in_pieces(self, claimed: Claimed, today: date) -> None:
        submission_id, token = claimed.id, claimed.token
        async with self.runtime.unit_of_work() as uow:
            submission = await locked(uow, submission_id, token)
            listed = await self._listed(uow)
            trust = submission.provider_ods[:3]
            spec = self._spec(submission_id, trust, (submission.sact_version, submission.columns), listed, today)
            progress = (submission.chunks_done, submission.rows_total)
            # resumed after a restart: the checksums of the pieces already written
            checksums = RepeatedChecksums(await written_checksums(uow, submission_id) if progress[0] else ())
        started = time.perf_counter()
        timings = await self._rows(claimed, spec, checksums, *progress)
        timings["ms_rows"] = round((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        async with self.runtime.unit_of_work() as uow:
            submission = await locked(uow, submission_id, token)
            duplicates = await reject_duplicates(uow, submission_id, checksums)
            submission.rows_accepted -= duplicates
            submission.rows_rejected += duplicates
            submission.status = next_status(submission.status, SubmissionStep.ROWS_WRITTEN)
            submission.heartbeat_at = datetime.now(UTC)
            await uow.commit()
        timings["ms_duplicates"] = round((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        counts = await match_submission(
            self.runtime,
            submission_id,
            trust=spec.trust,
            listed=listed_drugs(listed),
            hold=holding(submission_id, token),
        )
        counts["lapsed"] = await lapse_overdue(self.runtime, today, provider_ods=spec.trust)
        timings["ms_matching"] = round((time.perf_counter() - started) * 1000)
        counts.update(timings)
        async with self.runtime.unit_of_work() as uow:
            record_processed(uow, await locked(uow, submission_id, token), counts)
            await uow.commit()
        log.info("sact submission processed", submission_id=str(submission_id), **counts)

    async def _rows(
        self, claimed: Claimed, spec: ValidatorSpec, checksums: RepeatedChecksums, seq: int, first_row: int
    ) -> dict[str, int]:
        """Validate pieces side by side, write them in file order, until the upload's last piece is written
        (noting each written piece's duplicate checksums).

        A piece's first row number must be known before it is validated. It is, without parsing, when
        the piece before it has no quotes or blank lines (`count_rows`); otherwise the next piece
        waits for that one's validation."""
        waited = {"ms_waiting_for_validation": 0.0, "ms_writing": 0.0, "ms_waiting_for_upload": 0.0}
        depth = max(self.settings.sact_validation_processes, 1) + 1
        flight: deque[_InFlight] = deque()
        submission_id = claimed.id
        upload = UploadProgress(self.runtime, claimed)
        next_row: int | None = first_row

        async def fill() -> None:
            """Hand the validation processes the next stored pieces, up to `depth` in flight."""
            nonlocal seq, next_row
            while len(flight) < depth and next_row is not None and seq < upload.chunks_total:
                async with self.runtime.unit_of_work() as uow:
                    data = await read_piece(uow, submission_id, seq)
                flight.append(_InFlight(seq, next_row, self._validate(spec, next_row, data)))
                rows = count_rows(data)
                next_row = next_row + rows if rows is not None else None
                seq += 1

        try:
            while True:
                await fill()
                if not flight:
                    if upload.complete and seq >= upload.chunks_total:
                        break
                    started = time.perf_counter()
                    await upload.wait_for_more(seq)
                    waited["ms_waiting_for_upload"] += time.perf_counter() - started
                    continue
                started = time.perf_counter()
                done = flight.popleft()
                piece = await done.result
                waited["ms_waiting_for_validation"] += time.perf_counter() - started
                if next_row is None and not flight:  # its row count is now known: the next piece can go
                    next_row = done.first_row + piece.rows
                await fill()  # the processes work on the next pieces while this one is written
                started = time.perf_counter()
                async with self.runtime.unit_of_work() as uow:
                    await write_piece(uow, submission_id, done.seq, piece, claimed.token)
                    await uow.commit()
                waited["ms_writing"] += time.perf_counter() - started
                checksums.add(piece.keys)
                await upload.refresh()
        finally:
            for pending in flight:
                pending.result.cancel()
        return {name: round(seconds * 1000) for name, seconds in waited.items()}

    def _validate(self, spec: ValidatorSpec, first_row: int, data: bytes) -> asyncio.Future[PieceResult]:
        """One piece validated in a validation process (or a thread without one)."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._validation_pool(), validate_stored_piece, spec, first_row, data)

    async def _listed(self, uow: CdfUnitOfWork) -> dict[str, tuple[str, ...]]:
        return await list_cache(self.runtime).drug_names(uow.session, self.settings.list_cache_ttl_s)

    def _spec(
        self,
        submission_id: uuid.UUID,
        trust: str,
        header: tuple[int | None, list[str]],
        listed: dict[str, tuple[str, ...]],
        today: date,
    ) -> ValidatorSpec:
        """What the validation processes need for a file with this (version, columns) header."""
        if self._dictionary is None or self._dictionary[0] != listed:
            self._dictionary = (listed, DrugDictionary.build(reference_drugs(), listed))
        version, columns = header
        schema = SCHEMAS[version or CURRENT.version]  # None: stored before versions (refused by its header)
        spec = ValidatorSpec(
            str(submission_id), schema.version, tuple(columns), trust, self._dictionary[1], self._key, today
        )
        check_header(spec)  # a bad header fails here, before any piece is taken
        return spec

    def _validation_pool(self) -> ProcessPoolExecutor | None:
        processes = self.settings.sact_validation_processes
        if processes > 0 and self._pool is None:
            # spawn, not fork: the service process runs an event loop, threads and open connections;
            # started from the loop's thread, and the workers die with the service (casework.child_processes)
            self._pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


async def sact_worker(runtime: CdfRuntime) -> None:
    """The background task; the upload route wakes it through the runtime's wake signal."""
    worker = SactWorker(runtime)
    try:
        await worker.run()
    finally:
        worker.close()
