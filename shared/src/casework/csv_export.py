"""CSV exports for staff who work in spreadsheets.

Streams rows (no whole file in memory) and neutralises cells a spreadsheet would run as a formula
(CSV injection: a value starting with =, +, -, @, tab or carriage return gets a leading apostrophe),
because exported free text comes from outside users.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import StreamingResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)  # numbers stay numbers, including negative amounts
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


Rows = AsyncIterable[Mapping[str, Any]] | Iterable[Mapping[str, Any]]


async def _lines(columns: Sequence[str], rows: Rows) -> AsyncIterator[str]:
    yield csv_text(columns, [])
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield _row_line(columns, row)
    else:
        for row in rows:
            yield _row_line(columns, row)


def _row_line(columns: Sequence[str], row: Mapping[str, Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(columns: Sequence[str], rows: Rows, filename: str) -> StreamingResponse:
    return StreamingResponse(
        _lines(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
