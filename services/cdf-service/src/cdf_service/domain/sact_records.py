"""Cutting an uploaded CSV into pieces at record boundaries, and reading the rows of a piece.

A quoted field may hold a newline, so a piece ends at the last newline outside quotes (an even number
of quote characters before it; the piece starts at a record boundary, so counting from its start is
enough). Pieces never split a record; the header is read once, before the first piece.

A piece is read as columns (`frame_of`, Polars' CSV reader: native code) when that gives exactly the
rows `rows_of` gives (the csv module's reading); the few pieces it might read otherwise (blank lines,
quotes not around whole fields, a carriage return inside a line, bytes that are not UTF-8, a row of
another width) are read by `rows_of`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from itertools import chain

import polars as pl

from cdf_service.domain.sact_columns import column_name
from cdf_service.sact_schema import read_header

QUOTE = b'"'
BOM = b"\xef\xbb\xbf"
_QUOTED = re.compile(rb'"(?:[^"]|"")*"')  # a quoted value, its doubled quotes inside
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
    return read_header(next(csv.reader(io.StringIO(text)), []))


def rows_of(piece: bytes, shared: int = 0) -> Iterator[list[str]]:
    """The rows of one piece; blank lines are skipped (not counted as rows).

    A line without a quote character is split on commas (str.split is about twice as fast as the csv
    module); a line with one is read by the csv module, which takes further lines while a quoted field
    runs on. A SACT extract quotes little (a v4.0 End of Regimen Summary of several codes, "1,3"), so
    a piece with a few quoted fields costs about what one without does.

    `shared`: how many leading fields rows tend to repeat from the row before (a regimen's patient and
    regimen-level items, in a SACT extract). A line that begins with the last split line's first `shared`
    fields (and the comma after them) reuses them and splits only the rest: the same cells, less work.
    """
    text = piece.decode("utf-8", errors="replace")
    strip_cr = "\r" in text
    lines = text.split("\n")
    tail = [lines.pop()]  # what follows the last newline ("" when the piece ends with one): read as it is
    unread = iter(lines)
    head, head_cells, after = "\n", list[str](), 0  # the last split line's first `shared` fields ("\n" begins no line)
    for line in unread:
        if '"' in line:  # the csv module reads on into the next lines while a quoted field runs on
            source = chain((line + "\n",), map(_with_newline, unread), _take(tail))
            if cells := next(csv.reader(source), None):
                yield cells
            continue
        if strip_cr:
            line = line.rstrip("\r")
        if not line:
            continue
        if line.startswith(head):
            yield head_cells + line[after:].split(",")
            continue
        cells = line.split(",")
        if shared and len(cells) > shared:
            head_cells = cells[:shared]
            head = ",".join(head_cells) + ","
            after = len(head)
        yield cells
    for line in tail:  # not taken by a quoted field that ran to the end
        if '"' in line:
            cells = next(csv.reader([line]), None)
        else:
            line = line.rstrip("\r")
            cells = line.split(",") if line else None
        if cells:
            yield cells


def frame_of(piece: bytes, width: int) -> pl.DataFrame | None:
    """The rows of a piece as text columns c0, c1 ... (`width` of them), exactly the cells `rows_of` reads;
    None for a piece only `rows_of` reads right (or an empty one)."""
    rows = count_rows(piece)  # None: blank lines, or quotes other than around whole fields
    odd = piece.startswith(BOM) or (b"\r" in piece and piece.count(b"\r") != piece.count(b"\r\n"))
    if not rows or odd:  # rows_of keeps a byte order mark in the first cell and strips every final \r
        return None
    names = [column_name(i) for i in range(width)]
    try:
        frame = pl.read_csv(piece, has_header=False, schema=dict.fromkeys(names, pl.String), empty_string_is_null=False)
    except pl.exceptions.PolarsError:  # not UTF-8, or a row longer than the header
        return None
    if frame.height != rows:
        return None
    return frame if _every_row_has(piece, rows, width) else None


def _every_row_has(piece: bytes, rows: int, width: int) -> bool:
    """Whether each of the piece's `rows` rows has `width` fields. Polars pads a shorter row with empty
    cells and drops a longer row's empty last cells, so a short row and a long one could pass a count of
    all the commas together (hypothesis found ",\na\n,,"): the commas are counted a line at a time, once
    the quoted values (which may hold commas and newlines) are taken out."""
    bare = _QUOTED.sub(b"", piece) if QUOTE in piece else piece
    body = bare[:-1] if bare.endswith(b"\n") else bare
    lines = body.split(b"\n")
    separators = width - 1
    return len(lines) == rows and all(line.count(b",") == separators for line in lines)


def _with_newline(line: str) -> str:
    return line + "\n"


def _take(tail: list[str]) -> Iterator[str]:
    while tail:
        yield tail.pop()


def count_rows(piece: bytes) -> int | None:
    """How many rows `rows_of(piece)` yields, found without parsing: the line count of a piece with no
    blank line (the usual SACT extract), less the newlines inside quoted fields when every quoted field
    is a plain one ("1,3" between delimiters); None when only parsing can tell."""
    body = piece[:-1] if piece.endswith(b"\n") else piece  # nothing follows a final newline
    if not body:
        return 0
    if b"\r" in body:
        if _BLANK_LINE.search(body):
            return None
    elif b"\n\n" in body or body.startswith(b"\n") or body.endswith(b"\n"):
        return None
    if QUOTE not in body:
        return body.count(b"\n") + 1
    if b"\r" in body and piece.count(b"\r") != piece.count(b"\r\n"):
        return None  # a carriage return inside a line: the csv module's reading
    inside = _newlines_inside_quotes(body)
    return None if inside is None else body.count(b"\n") + 1 - inside


_FIELD_START = frozenset(b",\n")
_FIELD_END = frozenset(b",\r\n")


def _newlines_inside_quotes(body: bytes) -> int | None:
    """Newlines inside quoted fields, when each quoted field opens at a field's start and closes
    at its end (a doubled quote inside is fine); None for any other use of quotes, which the csv module
    reads its own way."""
    inside, at = 0, body.find(QUOTE)
    while at >= 0:
        if at > 0 and body[at - 1] not in _FIELD_START:
            return None
        end = at
        while True:  # the closing quote: one not doubled
            end = body.find(QUOTE, end + 1)
            if end < 0:
                return None
            if body[end + 1 : end + 2] != QUOTE:
                break
            end += 1
        if end + 1 < len(body) and body[end + 1] not in _FIELD_END:
            return None
        inside += body.count(b"\n", at, end)
        at = body.find(QUOTE, end + 1)
    return inside
