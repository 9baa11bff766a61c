"""A last guard against raw NHS numbers on the bus: events carry `patient_ref` only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from casework.identifiers import is_valid_nhs_number

# A standalone number (printed plain, spaced or hyphenated); digits inside a longer token such as a
# reference "CDF-9851495492" or an amount "1234567890.00" are not a patient's NHS number.
_CANDIDATE = re.compile(r"(?<![\w.-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w-]|\.\d)")


class PatientIdentifierInEvent(ValueError):
    pass


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def contains_nhs_number(value: Any) -> bool:
    return any(is_valid_nhs_number("".join(m.groups())) for text in _strings(value) for m in _CANDIDATE.finditer(text))


def assert_no_nhs_number(event_type: str, data: dict[str, Any]) -> None:
    if contains_nhs_number(data):
        raise PatientIdentifierInEvent(f"{event_type} payload contains an NHS number; use patient_ref")
