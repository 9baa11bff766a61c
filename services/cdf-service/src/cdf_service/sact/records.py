"""Cutting an uploaded CSV into pieces at record boundaries, and reading the rows of a piece.

A quoted field may hold a newline, so a piece ends at the last newline outside quotes (an even number
of quote characters before it; the piece starts at a record boundary, so counting from its start is
enough). Pieces never split a record; the header is read once, before the first piece.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator

QUOTE = b'"'
_BLANK_LINE = re.compile(rb"(?:\A|\n)\r*(?:\n|\Z)")  # a line of nothing but carriage returns


def record_boundary(buffer: bytes | bytearray, limit: int | None = None) -> int:
    """Length of the longest prefix of at most `limit` bytes made of whole records (0: none complete)."""
    end = buffer.rfind(b"\n", 0, len(buffer) if limit is None else limit)
    while end >= 0:
        if buffer.count(QUOTE, 0, end) % 2 == 0:
            return end + 1
        end = buffer.rfind(b"\n", 0, end)
    return 0


async def pieces(body: AsyncIterator[bytes], size: int) -> AsyncIterator[tuple[list[str] | None, bytes]]:
    """(header, b"") once, then (None, piece) for each piece of about `size` bytes of whole records.

    Holds at most about `size` bytes plus one network read. The header is None for an empty body.
    """
    buffer = bytearray()
    header_sent = False
    async for data in body:
        buffer += data
        if not header_sent:
            cut = record_boundary(buffer[: buffer.find(b"\n") + 1]) if b"\n" in buffer else 0
            if cut == 0:
                continue
            yield parse_header(bytes(buffer[:cut])), b""
            header_sent = True
            del buffer[:cut]
        while len(buffer) >= size:
            cut = record_boundary(buffer, size) or record_boundary(buffer)  # a record longer than size: whole
            if not cut:
                break
            yield None, bytes(buffer[:cut])
            del buffer[:cut]
    if not header_sent:
        if buffer.strip():
            yield parse_header(bytes(buffer)), b""
        return
    if buffer.strip():
        if not buffer.endswith(b"\n"):
            buffer += b"\n"
        yield None, bytes(buffer)


def parse_header(line: bytes) -> list[str]:
    text = line.decode("utf-8-sig", errors="replace")
    return [name.strip().upper() for name in next(csv.reader(io.StringIO(text)), [])]


def rows_of(piece: bytes) -> Iterator[list[str]]:
    """The rows of one piece; blank lines are skipped (not counted as rows).

    Pieces without a quote character take a fast path (str.split is about twice as fast as the csv
    module, and a SACT extract rarely quotes anything).
    """
    text = piece.decode("utf-8", errors="replace")
    if '"' not in text:
        strip_cr = "\r" in text
        for line in text.split("\n"):
            if strip_cr:
                line = line.rstrip("\r")
            if line:
                yield line.split(",")
        return
    for cells in csv.reader(io.StringIO(text)):
        if cells:
            yield cells


def count_rows(piece: bytes) -> int | None:
    """How many rows `rows_of(piece)` yields, found without parsing: the line count of a piece with no
    quote character and no blank line (the usual SACT extract); None when only parsing can tell."""
    if QUOTE in piece:
        return None
    body = piece[:-1] if piece.endswith(b"\n") else piece  # nothing follows a final newline
    if not body:
        return 0
    if b"\r" in body:
        if _BLANK_LINE.search(body):
            return None
    elif b"\n\n" in body or body.startswith(b"\n") or body.endswith(b"\n"):
        return None
    return body.count(b"\n") + 1
