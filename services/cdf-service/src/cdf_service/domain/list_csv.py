"""The national list as CSV: one row per entry version, as the CDF team keeps it in a spreadsheet.

Columns are `LIST_COLUMNS`. Criteria sit in one cell, separated by ` | `; each is `CODE: text`, and a
`?` after the code marks it optional (`C5?: Outcome registry consent`). `other_dmd_ids` holds further
dm+d ids separated by spaces. Parsing is pure and collects every problem with its row and field, so
one 422 tells the sender all that is wrong with the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from cdf_service.domain.national_list import (
    DEFAULT_LAPSE_WINDOW_DAYS,
    Criterion,
    EntryStatus,
    InvalidListEntry,
    ListEntry,
)

LIST_COLUMNS = (
    "entry_id",
    "drug_name",
    "dmd_id",
    "other_dmd_ids",
    "indication",
    "regimen",
    "criteria",
    "cost_per_cycle",
    "cycle_length_days",
    "expected_cycles",
    "managed_access_start",
    "managed_access_end",
    "status",
    "lapse_window_days",
    "effective_from",
    "change_note",
)
REQUIRED_COLUMNS = frozenset(LIST_COLUMNS) - {"other_dmd_ids", "managed_access_end", "lapse_window_days", "change_note"}
CRITERIA_SEPARATOR = " | "


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1 = first data row after the header
    field: str
    reason: str


@dataclass(frozen=True)
class ListRow:
    """A parsed row: the entry content (version 1 until the loader knows better) and its note."""

    row: int
    entry: ListEntry
    change_note: str | None


def parse_criteria(cell: str) -> tuple[Criterion, ...]:
    criteria = []
    for part in (p.strip() for p in cell.split(CRITERIA_SEPARATOR.strip())):
        if not part:
            continue
        code, sep, text = part.partition(":")
        if not sep or not code.strip() or not text.strip():
            raise ValueError(f"criterion {part!r} must look like 'CODE: text'")
        code = code.strip()
        optional = code.endswith("?")
        criteria.append(Criterion(code.rstrip("?").strip(), text.strip(), mandatory=not optional))
    if not criteria:
        raise ValueError("at least one criterion is needed")
    return tuple(criteria)


def format_criteria(criteria: Iterable[Criterion]) -> str:
    return CRITERIA_SEPARATOR.join(f"{c.code}{'' if c.mandatory else '?'}: {c.text}" for c in criteria)


def entry_to_row(entry: ListEntry, change_note: str | None = None) -> dict[str, str]:
    """The CSV row for an entry version (the export and the seed file use it)."""
    return {
        "entry_id": entry.entry_id,
        "drug_name": entry.drug_name,
        "dmd_id": entry.dmd_id,
        "other_dmd_ids": " ".join(entry.other_dmd_ids),
        "indication": entry.indication,
        "regimen": entry.regimen,
        "criteria": format_criteria(entry.criteria),
        "cost_per_cycle": str(entry.cost_per_cycle),
        "cycle_length_days": str(entry.cycle_length_days),
        "expected_cycles": str(entry.expected_cycles),
        "managed_access_start": entry.managed_access_start.isoformat(),
        "managed_access_end": entry.managed_access_end.isoformat() if entry.managed_access_end else "",
        "status": entry.status.value,
        "lapse_window_days": str(entry.lapse_window_days),
        "effective_from": entry.effective_from.isoformat(),
        "change_note": change_note or "",
    }


def parse_list_csv(text: str) -> tuple[list[ListRow], list[RowProblem]]:
    """Every valid row and every problem; the caller loads nothing unless problems is empty."""
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    missing = sorted(REQUIRED_COLUMNS - header)
    if missing:
        return [], [RowProblem(0, name, "column missing from the header") for name in missing]
    unknown = sorted(header - set(LIST_COLUMNS))
    if unknown:
        return [], [RowProblem(0, name, "unknown column") for name in unknown]
    rows: list[ListRow] = []
    problems: list[RowProblem] = []
    for number, raw in enumerate(reader, start=1):
        parsed = _parse_row(number, {k: (v or "").strip() for k, v in raw.items() if k is not None})
        if isinstance(parsed, ListRow):
            rows.append(parsed)
        else:
            problems.extend(parsed)
    if not rows and not problems:
        problems.append(RowProblem(0, "file", "no rows"))
    return rows, problems


def _parse_row(number: int, cell: dict[str, str]) -> ListRow | list[RowProblem]:
    problems: list[RowProblem] = []
    values: dict[str, Any] = {}

    def take(name: str, convert: Any, optional: bool = False) -> None:
        raw = cell.get(name, "")
        if not raw:
            if not optional:
                problems.append(RowProblem(number, name, "is required"))
            return
        try:
            values[name] = convert(raw)
        except (ValueError, InvalidOperation) as exc:
            problems.append(RowProblem(number, name, str(exc) or f"not a valid value: {raw!r}"))

    for name in ("entry_id", "drug_name", "dmd_id", "indication", "regimen"):
        take(name, str)
    take("other_dmd_ids", lambda v: tuple(v.split()), optional=True)
    take("criteria", parse_criteria)
    take("cost_per_cycle", _money)
    take("cycle_length_days", int)
    take("expected_cycles", int)
    take("managed_access_start", date.fromisoformat)
    take("managed_access_end", date.fromisoformat, optional=True)
    take("status", EntryStatus)
    take("lapse_window_days", int, optional=True)
    take("effective_from", date.fromisoformat)
    if problems:
        return problems
    values.setdefault("lapse_window_days", DEFAULT_LAPSE_WINDOW_DAYS)
    values.setdefault("managed_access_end", None)
    try:
        entry = ListEntry(version=1, **values)
    except InvalidListEntry as exc:
        return [RowProblem(number, _field_of(p), p) for p in exc.problems]
    return ListRow(number, entry, cell.get("change_note") or None)


def _money(raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", "").lstrip("£"))
    except InvalidOperation:  # its own text is "[<class 'decimal.ConversionSyntax'>]": no use to the CDF team
        raise ValueError(f"not an amount in pounds: {raw!r}") from None
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("at most two decimal places")
    return value


def _field_of(problem: str) -> str:
    first = problem.split(" ", 1)[0].rstrip(":")
    return first if first in LIST_COLUMNS else "entry"
