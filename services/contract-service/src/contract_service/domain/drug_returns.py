"""Monthly high-cost drug expenditure returns: reading and validating patient-level lines (pure).

A return is validated row by row: each bad field gives one entry in the report (row, field,
reason); a row with any error is rejected and the rest are kept. Rows are numbered from 1 in the
order sent (for CSV, the first line after the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from casework.identifiers import is_valid_nhs_number, is_valid_snomed_id, normalise_nhs_number

REQUIRED = ("nhs_number", "dmd_id", "indication", "administered_on", "quantity", "cost")
OPTIONAL = ("approval_reference", "drug_name")
COLUMNS = REQUIRED + OPTIONAL
# Column names trusts' systems commonly use, mapped to ours.
ALIASES = {"date": "administered_on", "dmd": "dmd_id", "dmd_code": "dmd_id", "nhs_no": "nhs_number"}
MAX_COST = Decimal("9999999.99")
MAX_QUANTITY = Decimal("999999.999")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_-]{0,39}$")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class ReturnLine:
    row: int
    nhs_number: str
    dmd_id: str
    indication: str
    administered_on: date
    quantity: Decimal
    cost: Decimal
    approval_reference: str | None = None
    drug_name: str | None = None


@dataclass
class ValidatedReturn:
    lines: list[ReturnLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM period; ValueError for anything else."""
    match = _PERIOD.match(period)
    if not match:
        raise ValueError("period must look like 2026-05")
    year, month = int(match[1]), int(match[2])
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a CSV return keyed by our column names; ValueError naming a missing column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise ValueError("the CSV has no header row")
    header = {name: _column(name) for name in reader.fieldnames if name}
    missing = [c for c in REQUIRED if c not in header.values()]
    if missing:
        raise ValueError(f"the CSV lacks the column(s) {', '.join(missing)}")
    return [{header[k]: (v or "").strip() for k, v in row.items() if k in header} for row in reader]


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("+", "")
    return ALIASES.get(key, key)


# --- Field checks: each returns (value, None) or (None, reason) ------------------------------------

Check = Callable[[Any], tuple[Any, str | None]]


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def _nhs_number(raw: Any) -> tuple[str | None, str | None]:
    value = normalise_nhs_number(_text(raw))
    if not value:
        return None, "is required"
    return (value, None) if is_valid_nhs_number(value) else (None, "not a valid NHS number (Modulus 11)")


def _dmd(raw: Any) -> tuple[str | None, str | None]:
    value = _text(raw)
    if not value:
        return None, "is required"
    return (value, None) if is_valid_snomed_id(value) else (None, "not a valid dm+d id (Verhoeff check digit)")


def _indication(raw: Any) -> tuple[str | None, str | None]:
    value = _text(raw)
    if not value:
        return None, "is required"
    return (value, None) if len(value) <= 500 else (None, "must be at most 500 characters")


def _decimal(raw: Any, places: int, maximum: Decimal, positive: bool) -> tuple[Decimal | None, str | None]:
    text = _text(raw).replace(",", "").removeprefix("£")
    if not text:
        return None, "is required"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "not a number"
    if not value.is_finite():
        return None, "not a number"
    if value < 0 or (positive and value == 0):
        return None, "must be greater than 0" if positive else "must not be negative"
    if value > maximum:
        return None, f"must be at most {maximum}"
    if -value.as_tuple().exponent > places:  # type: ignore[operator]  # finite: an int
        return None, f"at most {places} decimal places"
    return value, None


def _reference(raw: Any) -> tuple[str | None, str | None]:
    value = _text(raw)
    if not value:
        return None, None
    return (value.upper(), None) if _REFERENCE.match(value) else (None, "not an approval reference")


def _drug_name(raw: Any) -> tuple[str | None, str | None]:
    value = _text(raw)
    return (value or None, None) if len(value) <= 200 else (None, "must be at most 200 characters")


def _date_in(first: date, last: date) -> Check:
    def check(raw: Any) -> tuple[date | None, str | None]:
        text = _text(raw)
        if not text:
            return None, "is required"
        try:
            value = date.fromisoformat(text)
        except ValueError:
            return None, "not a date (YYYY-MM-DD)"
        if not first <= value <= last:
            return None, f"not in the return's period ({first:%Y-%m})"
        return value, None

    return check


def _checks(period: str) -> dict[str, Check]:
    first, last = period_bounds(period)
    return {
        "nhs_number": _nhs_number,
        "dmd_id": _dmd,
        "indication": _indication,
        "administered_on": _date_in(first, last),
        "quantity": lambda raw: _decimal(raw, 3, MAX_QUANTITY, positive=True),
        "cost": lambda raw: _decimal(raw, 2, MAX_COST, positive=False),
        "approval_reference": _reference,
        "drug_name": _drug_name,
    }


def validate_return(period: str, rows: Sequence[Mapping[str, Any]]) -> ValidatedReturn:
    """Every row checked field by field; duplicates of an earlier row are rejected too."""
    checks = _checks(period)
    result = ValidatedReturn()
    seen: dict[tuple[Any, ...], int] = {}
    for number, row in enumerate(rows, start=1):
        values: dict[str, Any] = {}
        errors = []
        for name, check in checks.items():
            value, reason = check(row.get(name))
            if reason:
                errors.append(RowError(number, name, reason))
            values[name] = value
        if not errors:
            line = ReturnLine(row=number, **values)
            key = _identity(line)
            if key in seen:
                errors.append(RowError(number, "row", f"duplicate of row {seen[key]}"))
            else:
                seen[key] = number
                result.lines.append(line)
        result.errors.extend(errors)
    return result


def _identity(line: ReturnLine) -> tuple[Any, ...]:
    return (line.nhs_number, line.dmd_id, line.administered_on, line.quantity, line.cost, line.approval_reference)


def submitted_value(lines: Iterable[ReturnLine]) -> Decimal:
    return sum((line.cost for line in lines), Decimal(0))
