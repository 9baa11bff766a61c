"""Storing an upload: the request body is streamed into pieces in the database, never held whole.

Each piece is committed on its own, so memory stays at about one piece however large the file, and
the status row shows the bytes received while the upload runs. Nothing is processed here: the SACT
worker picks the submission up once it is `received`.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, update

from casework.runtime import ServiceRuntime
from cdf_service.db.models import SactChunk, SactProblem, SactRow, SactSubmission
from cdf_service.domain.sact_rows import HeaderError, check_header
from cdf_service.sact.records import pieces
from cdf_service.sact_schema import FIELDS


async def store_csv(
    runtime: ServiceRuntime, submission_id: uuid.UUID, body: AsyncIterator[bytes], piece_bytes: int
) -> None:
    """Stream a CSV body into pieces; raise HeaderError (nothing kept) if the header is not SACT's."""
    seq = received = 0
    async for header, piece in pieces(body, piece_bytes):
        if header is not None:
            if problems := check_header(header):
                raise HeaderError(problems)
            await _set(runtime, submission_id, columns=header)
            continue
        received += len(piece)
        await _store_piece(runtime, submission_id, seq, piece, received)
        seq += 1
    if seq == 0 and received == 0:
        await _require_header(runtime, submission_id)
    await _set(runtime, submission_id, status="received", chunks_total=seq)


async def store_records(
    runtime: ServiceRuntime, submission_id: uuid.UUID, records: Iterable[Mapping[str, Any]], piece_bytes: int
) -> None:
    """A JSON batch becomes CSV pieces in the national field order, then takes the same path."""
    await _set(runtime, submission_id, columns=list(FIELDS))
    seq = received = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow(["" if record.get(name) is None else str(record[name]) for name in FIELDS])
        if buffer.tell() >= piece_bytes:
            received += await _flush(runtime, submission_id, seq, buffer, received)
            seq += 1
    if buffer.tell():
        received += await _flush(runtime, submission_id, seq, buffer, received)
        seq += 1
    await _set(runtime, submission_id, status="received", chunks_total=seq)


async def _flush(runtime: ServiceRuntime, submission_id: uuid.UUID, seq: int, buffer: io.StringIO, before: int) -> int:
    piece = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    await _store_piece(runtime, submission_id, seq, piece, before + len(piece))
    return len(piece)


async def _store_piece(runtime: ServiceRuntime, submission_id: uuid.UUID, seq: int, piece: bytes, total: int) -> None:
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(insert(SactChunk).values(submission_id=submission_id, seq=seq, data=piece))
        await uow.session.execute(
            update(SactSubmission).where(SactSubmission.id == submission_id).values(bytes_received=total)
        )
        await uow.commit()


async def _set(runtime: ServiceRuntime, submission_id: uuid.UUID, **values: Any) -> None:
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(update(SactSubmission).where(SactSubmission.id == submission_id).values(**values))
        await uow.commit()


async def _require_header(runtime: ServiceRuntime, submission_id: uuid.UUID) -> None:
    async with runtime.unit_of_work() as uow:
        submission = await uow.session.get(SactSubmission, submission_id)
        if submission is None or not submission.columns:
            raise HeaderError(check_header([]))


async def discard(runtime: ServiceRuntime, submission_id: uuid.UUID, keep_row: bool) -> None:
    """Remove what a submission stored (a refused upload, or a failed one being sent again)."""
    async with runtime.unit_of_work() as uow:
        for table in (SactChunk, SactRow, SactProblem):
            await uow.session.execute(delete(table).where(table.submission_id == submission_id))
        if not keep_row:
            await uow.session.execute(delete(SactSubmission).where(SactSubmission.id == submission_id))
        await uow.commit()
