"""Storing an upload: the request body is streamed into pieces in the database, never held whole.

An upload that fits in one piece (a trust's system sending the day's few administrations) is stored
with its status row in one transaction and handed to the worker at once. A larger one is stored a
piece per transaction, so memory stays at about one piece however large the file and the status row
shows the bytes received while the upload runs; every stored piece wakes the worker, which takes the
file up before its end arrives (sact.worker). Nothing is processed here; the submission's use case
(use_cases.sact_submissions) calls `receive` and `discard`, the upload route makes the pieces.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from casework.db import table_of
from casework.problems import Problem
from cdf_service.db.models import SactChunk, SactProblem, SactRow, SactSubmission
from cdf_service.domain.sact_records import pieces
from cdf_service.domain.sact_submissions import UPLOAD_STARTS, SubmissionStep, next_status
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.sact_schema import detect, detect_keys, header_text

SACT_WORKER = "cdf-sact-worker"  # the worker's wake signal: a submission (or a piece of one) was stored
Pieces = AsyncIterator[tuple[list[str] | None, bytes]]  # (header, b"") once, then (None, piece) ...

_UPLOADED = text(
    # The worker may have taken the file up already (status processing): only a waiting one is `received`.
    f"""
    UPDATE sact_submissions
    SET upload_complete = true, chunks_total = :chunks, bytes_received = :bytes,
        status = CASE WHEN status = '{UPLOAD_STARTS}'
                      THEN '{next_status(UPLOAD_STARTS, SubmissionStep.FINISH_UPLOAD)}' ELSE status END
    WHERE id = :sid
    """
)


def csv_pieces(body: AsyncIterator[bytes], piece_bytes: int) -> Pieces:
    return pieces(body, piece_bytes)


def record_pieces(records: Sequence[Mapping[str, Any]], piece_bytes: int, declared: int | None) -> Pieces:
    """A JSON batch as CSV pieces in its version's item order (a missing key is an empty value): it then
    takes the same path as a file. Raises HeaderError, before anything is stored, for a key that is not
    an item of the declared version (or of any version)."""
    named = [{header_text(key): value for key, value in record.items()} for record in records]
    keys = list(dict.fromkeys(key for record in named for key in record))
    return _record_pieces(named, detect_keys(keys, declared).headers, piece_bytes)


async def _record_pieces(records: Iterable[Mapping[str, Any]], headers: Sequence[str], piece_bytes: int) -> Pieces:
    yield list(headers), b""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow(["" if record.get(name) is None else str(record[name]) for name in headers])
        if buffer.tell() >= piece_bytes:
            yield None, _drain(buffer)
    if buffer.tell():
        yield None, _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    piece = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return piece


async def receive(
    uow: CdfUnitOfWork, runtime: CdfRuntime, submission: SactSubmission, *, source: Pieces, declared: int | None
) -> bool:
    """Store the upload for `submission` (added to `uow`, not yet flushed). Returns True when it was
    stored whole in `uow`'s one transaction, False when it was streamed piece by piece.

    Raises HeaderError, with nothing stored, if the header is not that of the declared SACT version (or,
    with none declared, of v4.0 or v3.0)."""
    header = await _header(source)
    submission.sact_version = detect(header, declared).version
    first = await anext(source, None)
    second = await anext(source, None) if first is not None else None
    submission.columns = header
    if first is None or second is None:
        data = first[1] if first is not None else b""
        submission.status = next_status(UPLOAD_STARTS, SubmissionStep.FINISH_UPLOAD)
        submission.upload_complete = True
        submission.chunks_total, submission.bytes_received = (1 if data else 0), len(data)
        await _flush_new(uow)
        if data:
            uow.stage_rows(table_of(SactChunk), [{"submission_id": submission.id, "seq": 0, "data": data}])
        uow.wake_after_commit(SACT_WORKER)
        await uow.commit()
        return True
    submission.status, submission.upload_complete = UPLOAD_STARTS, False
    await _flush_new(uow)
    await uow.commit()  # the status row, readable while the file arrives
    try:
        await _stream(runtime, submission.id, first[1], second[1], source)
    except BaseException:
        await discard(runtime, submission.id, keep_row=False)
        raise
    return False


async def _header(source: Pieces) -> list[str]:
    item = await anext(source, None)
    return (item[0] if item is not None else None) or []


async def _flush_new(uow: CdfUnitOfWork) -> None:
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Problem("this submission is being uploaded right now; retry to see it", status=409) from None


async def _stream(runtime: CdfRuntime, submission_id: uuid.UUID, first: bytes, second: bytes, rest: Pieces) -> None:
    seq = received = 0
    for piece in (first, second):
        received += len(piece)
        await _store_piece(runtime, submission_id, seq, piece, received)
        seq += 1
    async for _, piece in rest:
        received += len(piece)
        await _store_piece(runtime, submission_id, seq, piece, received)
        seq += 1
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(_UPLOADED, {"sid": submission_id, "chunks": seq, "bytes": received})
        uow.wake_after_commit(SACT_WORKER)
        await uow.commit()


async def _store_piece(runtime: CdfRuntime, submission_id: uuid.UUID, seq: int, piece: bytes, total: int) -> None:
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(insert(SactChunk).values(submission_id=submission_id, seq=seq, data=piece))
        await uow.session.execute(
            update(SactSubmission)
            .where(SactSubmission.id == submission_id)
            .values(bytes_received=total, chunks_total=seq + 1)
        )
        uow.wake_after_commit(SACT_WORKER)  # a worker may take the file up from its first piece
        await uow.commit()


async def discard(runtime: CdfRuntime, submission_id: uuid.UUID, keep_row: bool) -> None:
    """Remove what a submission stored (a refused upload, or a failed one being sent again).

    The status row is locked first: a worker writing a piece holds that lock, so its piece is either
    committed before this removes it or finds the submission gone."""
    async with runtime.unit_of_work() as uow:
        locked = select(SactSubmission.id).where(SactSubmission.id == submission_id).with_for_update()
        await uow.session.execute(locked)
        for table in (SactChunk, SactRow, SactProblem):
            await uow.session.execute(delete(table).where(table.submission_id == submission_id))
        if not keep_row:
            await uow.session.execute(delete(SactSubmission).where(SactSubmission.id == submission_id))
        await uow.commit()
