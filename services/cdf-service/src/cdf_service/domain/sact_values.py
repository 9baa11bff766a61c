"""Whether one SACT value is well formed for its data item (type, length, national code list), with the
reason when it is not. The row validator asks each value once and remembers the answer, so these need
not be fast."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from casework.identifiers import is_valid_icd10_code, is_valid_ods_code, is_valid_snomed_id
from cdf_service.sact_schema import DataItem, ItemType

Check = Callable[[str], str | None]  # None: the value is fine; else why it is not
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")


def parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def parse_timestamp(raw: str) -> date | None:
    """The day of an ISO 8601 date and time (2026-05-11T10:30, seconds and an offset optional)."""
    if len(raw) <= 10 or len(raw) > 25 or raw[10] not in "T ":
        return None
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        return None


def whole(raw: str) -> bool:
    return raw.isascii() and raw.isdigit()  # not str.isdigit alone: '²' is a digit int() refuses


def check_for(item: DataItem) -> Check:
    """The check of a non-empty value of `item` (an empty one is the caller's: required or fine)."""
    return _CHECKS[item.type](item)


def _text(item: DataItem) -> Check:
    limit = item.max_length
    return lambda raw: None if len(raw) <= limit else f"longer than {limit} characters"


def _code(item: DataItem) -> Check:
    if not item.codes:
        return _text(item)
    known = frozenset(item.codes)
    reason = f"must be one of {', '.join(item.codes)}"
    return lambda raw: None if raw.strip() in known else reason


def _codes(item: DataItem) -> Check:
    assert item.codes, item
    known = frozenset(item.codes)
    reason = f"must be one or more of {', '.join(item.codes)}, comma-separated"

    def check(raw: str) -> str | None:
        parts = [part.strip() for part in raw.split(",")]
        return None if set(parts) <= known and len(set(parts)) == len(parts) else reason

    return check


def _date(item: DataItem) -> Check:
    return lambda raw: None if parse_date(raw) else f"not a date (YYYY-MM-DD): {raw!r}"


def _timestamp(item: DataItem) -> Check:
    return lambda raw: None if parse_timestamp(raw) else f"not a date and time (YYYY-MM-DDThh:mm:ss): {raw!r}"


def _integer(item: DataItem) -> Check:
    low, high = item.limits or (0, 10**item.max_length - 1)
    reason = f"must be a whole number {low}-{high}"
    return lambda raw: None if whole(raw) and low <= int(raw) <= high else reason


def _decimal(item: DataItem) -> Check:
    limit = item.max_length
    reason = f"not a number of at most {limit} characters: {{!r}}"
    return lambda raw: None if len(raw) <= limit and _DECIMAL.fullmatch(raw) else reason.format(raw)


def _predicate(test: Callable[[str], bool], what: str) -> Callable[[DataItem], Check]:
    return lambda item: lambda raw: None if test(raw.strip().upper()) else f"not {what}: {raw!r}"


_CHECKS: dict[ItemType, Callable[[DataItem], Check]] = {
    ItemType.TEXT: _text,
    ItemType.CODE: _code,
    ItemType.CODES: _codes,
    ItemType.DATE: _date,
    ItemType.TIMESTAMP: _timestamp,
    ItemType.INTEGER: _integer,
    ItemType.DECIMAL: _decimal,
    ItemType.NHS_NUMBER: _predicate(lambda v: len(v) == 10 and v.isdigit(), "an NHS number"),
    ItemType.ODS_CODE: _predicate(is_valid_ods_code, "an ODS code"),
    ItemType.ICD10_CODE: _predicate(is_valid_icd10_code, "an ICD-10 code"),
    ItemType.SNOMED_CT_ID: _predicate(is_valid_snomed_id, "a SNOMED CT id (Verhoeff check digit)"),
}
