"""Raw NHS numbers stay where they belong: never on the bus (events carry `patient_ref`), never in a
URL (access logs keep URLs: search with a POST body), never in a log line (scrubbed on the way out)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

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


# Query parameters that would carry a patient identifier: refused (422) on every route.
IDENTIFIER_PARAMETERS = frozenset({"nhs_number"})
IDENTIFIER_IN_URL = "an NHS number is not accepted in a URL (access logs keep URLs); search with a POST body"
SCRUBBED = "[NHS number]"
_NAMED = re.compile(r"(nhs_number=)(?!\[NHS number\])[^&\s\"']*", re.IGNORECASE)


def identifier_in_query(query_string: bytes) -> str | None:
    """The name of a query parameter that carries a patient identifier, if the query has one."""
    if b"nhs" not in query_string.lower():  # the common case: nothing to parse
        return None
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name.lower() in IDENTIFIER_PARAMETERS:
            return name
    return None


def scrub_nhs_numbers(text: str) -> str:
    """`text` with every valid NHS number (plain, spaced or hyphenated) and every `nhs_number=` value
    replaced, for log lines."""
    if "nhs" in text.lower():
        text = _NAMED.sub(lambda m: m.group(1) + SCRUBBED, text)
    return _CANDIDATE.sub(lambda m: SCRUBBED if is_valid_nhs_number("".join(m.groups())) else m.group(0), text)


def nhs_numbers_in(text: str) -> list[str]:
    """The valid NHS numbers (as written) in a text, e.g. a log file."""
    return [m.group(0) for m in _CANDIDATE.finditer(text) if is_valid_nhs_number("".join(m.groups()))]
