"""The steps of processing a SACT submission's rows, each inside the caller's unit of work.

The worker composes them two ways (sact.worker): a small submission runs every step in one
transaction; a large one commits each piece on its own, then rejects duplicates, then matches in
batches (use_cases.sact_matching). A step never commits, so whichever way it is used, what it writes
lands with the rest. Finishing a submission, with its event, is use_cases.sact_processing.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from sqlalchemy import text

from casework.db import table_of
from cdf_service.db.models import SactChunk
from cdf_service.domain.sact_rows import AdministrationRow, RepeatedChecksums, repeated_administrations
from cdf_service.runtime import CdfUnitOfWork
from cdf_service.sact.pieces import COPY_COLUMNS, PieceResult
from cdf_service.use_cases.sact_matching import ListedDrug

PROBLEM_COLUMNS = ("submission_id", "row_no", "field", "reason")


class SubmissionGone(Exception):
    """The upload failed and its submission was removed while a worker was on it."""


class ClaimLost(Exception):
    """Another worker took the submission over (this one was silent past SACT_STALE_AFTER_S): this one
    stops, writing nothing more."""


_STILL_THERE = text("SELECT 1 FROM sact_submissions WHERE id = :sid")


async def lost_or_gone(uow: CdfUnitOfWork, submission_id: uuid.UUID) -> Exception:
    """Why a write naming our claim found no row: the submission was removed, or it is another's now."""
    if await uow.session.scalar(_STILL_THERE, {"sid": submission_id}) is None:
        return SubmissionGone(str(submission_id))
    return ClaimLost(str(submission_id))


_CANDIDATE_ROWS = text(
    # The rows whose checksum was seen more than once (RepeatedChecksums): a few hundred of a million,
    # found in one scan of the submission's rows. ctid finds them again for the DELETE without a scan.
    """
    SELECT ctid::text AS ctid, row_no, patient_ref, drug_key, regimen_start, cycle_number, administration_date
    FROM sact_rows WHERE submission_id = :sid AND duplicate_key = ANY(:keys)
    """
)
_DELETE_ROWS = text("DELETE FROM sact_rows WHERE ctid = ANY(CAST(CAST(:ctids AS text[]) AS tid[]))")


async def read_piece(uow: CdfUnitOfWork, submission_id: uuid.UUID, seq: int) -> bytes:
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
    WHERE id = :sid AND claim_token = :token AND chunks_done = :seq
    RETURNING rows_total
    """
)


async def copy_piece(uow: CdfUnitOfWork, submission_id: uuid.UUID, piece: PieceResult) -> None:
    """A validated piece's accepted rows into sact_rows and its problems into sact_problems (COPY)."""
    raw = await (await uow.session.connection()).get_raw_connection()
    driver: Any = raw.driver_connection
    if piece.csv:
        source = io.BytesIO(piece.csv)
        await driver.copy_to_table("sact_rows", source=source, columns=COPY_COLUMNS, format="csv")
    if piece.problems:
        problems = [(submission_id, row, field, reason) for row, field, reason in piece.problems]
        await driver.copy_records_to_table("sact_problems", records=problems, columns=PROBLEM_COLUMNS)


async def write_piece(
    uow: CdfUnitOfWork, submission_id: uuid.UUID, seq: int, piece: PieceResult, token: uuid.UUID
) -> None:
    """A piece of a large file: its rows and problems, the progress counters, and the stored piece dropped.

    Raises SubmissionGone when the submission was removed (its upload failed), ClaimLost when another
    worker holds it now (or wrote this piece already): the caller's transaction is rolled back, so
    nothing of the piece is written twice.

    The commit does not wait for the WAL to reach the disk: a piece's transaction emits no event, and a
    database crash that loses its last pieces loses the stored upload with them (the pieces' table is
    unlogged), so the submission fails whole and is sent again, never half applied."""
    await uow.session.execute(text("SET LOCAL synchronous_commit = off"))
    await copy_piece(uow, submission_id, piece)
    counts = {"sid": submission_id, "seq": seq, "rows": piece.rows, "rejected": piece.rejected, "token": token}
    if (await uow.session.execute(_PIECE_WRITTEN, counts)).first() is None:
        raise await lost_or_gone(uow, submission_id)
    await uow.session.execute(
        table_of(SactChunk).delete().where(SactChunk.submission_id == submission_id, SactChunk.seq == seq)
    )


async def reject_duplicates(uow: CdfUnitOfWork, submission_id: uuid.UUID, checksums: RepeatedChecksums) -> int:
    """Every repeat of an administration already in an earlier row becomes a problem naming that row;
    returns how many (the caller moves them from accepted to rejected)."""
    if not checksums.repeated:
        return 0
    params = {"sid": submission_id, "keys": list(checksums.repeated)}
    candidates = (await uow.session.execute(_CANDIDATE_ROWS, params)).all()
    repeats = repeated_administrations(AdministrationRow(*row[1:]) for row in candidates)
    if not repeats:  # equal checksums of different administrations
        return 0
    await uow.session.execute(_DELETE_ROWS, {"ctids": [row.ctid for row in candidates if row.row_no in repeats]})
    reason = "duplicate cycle: this administration of the cycle is already in row {}"
    problems = [(row, "CYCLE_NUMBER", reason.format(first)) for row, first in sorted(repeats.items())]
    await copy_piece(uow, submission_id, PieceResult(b"", problems, 0))
    return len(repeats)


async def written_checksums(uow: CdfUnitOfWork, submission_id: uuid.UUID) -> list[int]:
    """The duplicate checksums of the rows already written (a worker resuming a submission part done)."""
    query = text("SELECT duplicate_key FROM sact_rows WHERE submission_id = :sid AND duplicate_key IS NOT NULL")
    return list((await uow.session.execute(query, {"sid": submission_id})).scalars())


def listed_drugs(listed: dict[str, tuple[str, ...]]) -> dict[str, ListedDrug]:
    """The matcher's view of the list: drug key (lower-case name) -> name and primary dm+d id."""
    return {name.strip().lower(): ListedDrug(name, ids[0]) for name, ids in listed.items() if ids}
