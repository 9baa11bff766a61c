"""The steps of processing a SACT submission, each inside the caller's unit of work.

The worker composes them two ways (sact.worker): a small submission runs every step in one
transaction; a large one commits each piece on its own, then rejects duplicates, then matches in
batches. A step never commits, so whichever way it is used, what it writes lands with the rest.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from casework.uow import UnitOfWork
from cdf_service.db.models import SactChunk, SactSubmission
from cdf_service.sact.matcher import ListedDrug
from cdf_service.sact.pieces import COPY_COLUMNS, PieceResult

PROBLEM_COLUMNS = ("submission_id", "row_no", "field", "reason")


class SubmissionGone(Exception):
    """The upload failed and its submission was removed while a worker was on it."""


ACTOR = "system:cdf-sact-worker"

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


async def read_piece(uow: UnitOfWork, submission_id: uuid.UUID, seq: int) -> bytes:
    data = await uow.session.scalar(
        text("SELECT data FROM sact_chunks WHERE submission_id = :sid AND seq = :seq"),
        {"sid": submission_id, "seq": seq},
    )
    if data is None:  # pieces are unlogged: a database crash loses them
        raise RuntimeError(f"piece {seq} of the stored file is gone (database restart?); send the file again")
    return bytes(data)


_PIECE_WRITTEN = text(
    # Counters move by increments, so the row is locked only from here to the commit, never while the
    # rows are copied: the upload, storing its next piece, updates the same row meanwhile.
    """
    UPDATE sact_submissions
    SET rows_total = rows_total + :rows, rows_accepted = rows_accepted + :rows - :rejected,
        rows_rejected = rows_rejected + :rejected, chunks_done = :seq + 1, heartbeat_at = now()
    WHERE id = :sid
    RETURNING rows_total
    """
)


async def write_piece(uow: UnitOfWork, submission_id: uuid.UUID, seq: int, piece: PieceResult) -> None:
    """A validated piece's rows and problems, the progress counters, and the stored piece dropped.

    Raises SubmissionGone when the submission was removed (its upload failed): nothing is written."""
    raw = await (await uow.session.connection()).get_raw_connection()
    driver: Any = raw.driver_connection
    if piece.csv:
        source = io.BytesIO(piece.csv)
        await driver.copy_to_table("sact_rows", source=source, columns=COPY_COLUMNS, format="csv")
    problems = [(submission_id, row, field, reason) for row, field, reason in piece.problems]
    if problems:
        await driver.copy_records_to_table("sact_problems", records=problems, columns=PROBLEM_COLUMNS)
    counts = {"sid": submission_id, "seq": seq, "rows": piece.rows, "rejected": len({p[1] for p in problems})}
    if (await uow.session.execute(_PIECE_WRITTEN, counts)).first() is None:
        raise SubmissionGone(str(submission_id))
    await uow.session.execute(
        SactChunk.__table__.delete().where(SactChunk.submission_id == submission_id, SactChunk.seq == seq)
    )


async def reject_duplicates(uow: UnitOfWork, submission: SactSubmission) -> int:
    """Every repeat of an administration already in an earlier row becomes a problem; returns how many."""
    # One hash aggregate over the whole submission: give it memory so it does not spill to disk.
    await uow.session.execute(text("SET LOCAL work_mem = '256MB'"))
    duplicates = (await uow.session.execute(_DUPLICATES, {"sid": submission.id})).rowcount or 0
    submission.rows_accepted -= duplicates
    submission.rows_rejected += duplicates
    return duplicates


def listed_drugs(listed: dict[str, tuple[str, ...]]) -> dict[str, ListedDrug]:
    """The matcher's view of the list: drug key (lower-case name) -> name and primary dm+d id."""
    return {name.strip().lower(): ListedDrug(name, ids[0]) for name, ids in listed.items() if ids}


def record_processed(uow: UnitOfWork, submission: SactSubmission, counts: Counter[str]) -> None:
    """The submission is done: its status, counts, `cdf.sact_submission.processed` and the audit row."""
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
    uow.audit(ACTOR, "process", "sact_submission", submission.id, detail=dict(counts))
