"""A last guard against raw NHS numbers on the bus: events carry `patient_ref` only."""

from __future__ import annotations

import re
from typing import Any

from casework.identifiers import is_valid_nhs_number

# A standalone number (printed plain, spaced or hyphenated); digits inside a longer token such as a
# reference "CDF-9851495492" or an amount "1234567890.00" are not a patient's NHS number.
_CANDIDATE = re.compile(r"(?<![\w.-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w-]|\.\d)")


class PatientIdentifierInEvent(ValueError):
    pass


def _strings(value: Any) -> list[str]:
    """Every string in a JSON-like value (a loop, not recursion: every event payload passes here)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return found


def contains_nhs_number(value: Any) -> bool:
    # One pass over all the strings; a newline between them is neither a digit nor a separator the
    # pattern accepts, so no number is made of the end of one string and the start of the next.
    text = "\n".join(_strings(value))
    return any(is_valid_nhs_number("".join(m.groups())) for m in _CANDIDATE.finditer(text))


def assert_no_nhs_number(event_type: str, data: dict[str, Any]) -> None:
    if contains_nhs_number(data):
        raise PatientIdentifierInEvent(f"{event_type} payload contains an NHS number; use patient_ref")
