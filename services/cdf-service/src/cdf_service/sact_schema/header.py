"""Which SACT version a file is, from its header (or as the upload declared it), and what is wrong with a
header that is neither: a file is refused whole, with every column named, before anything is stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from cdf_service.sact_schema.items import SactSchema, header_text
from cdf_service.sact_schema.v3 import SACT_V3
from cdf_service.sact_schema.v4 import SACT_V4

SCHEMAS = {4: SACT_V4, 3: SACT_V3}  # the current version first: it is tried first
CURRENT = SACT_V4


class Problem(NamedTuple):
    field: str
    reason: str


class HeaderError(ValueError):
    """A header that is not the expected version's (`expected`), with every problem of it."""

    def __init__(self, problems: list[Problem], expected: SactSchema) -> None:
        self.problems = problems
        self.expected = expected
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))


def schema_for(version: int | str) -> SactSchema | None:
    """The schema of a version written 4, "4", "4.0", "v4" or "v4.0"; None for any other."""
    text = str(version).strip().lower().removeprefix("v")
    number = text.removesuffix(".0")
    return SCHEMAS.get(int(number)) if number.isdigit() else None


def read_header(names: Sequence[str]) -> list[str]:
    """Column names as uploaded, in the form the schemas use (see `header_text`)."""
    return [header_text(name) for name in names]


def header_problems(schema: SactSchema, columns: Sequence[str]) -> list[Problem]:
    """Every problem of `columns` as a header of `schema`: mandatory items and one item of each choice must
    be there, once each; a column that is not one of its items is refused."""
    present = set(columns)
    problems = [
        Problem(name, "column missing from the header") for name in schema.mandatory_headers if name not in present
    ]
    for choice in schema.choices:
        headers = schema.choice_headers(choice)
        if not present.intersection(headers):
            wanted = ", ".join(f"{number}" for number in choice.items)
            problems.append(
                Problem(" or ".join(headers), f"column missing from the header: {choice.name}, items {wanted}")
            )
    problems += [
        Problem(name, f"unknown column (not a {schema.title} data item)")
        for name in columns
        if name not in schema.by_header
    ]
    problems += [Problem(name, "column appears twice") for name in sorted({c for c in columns if columns.count(c) > 1})]
    return problems


def detect(columns: Sequence[str], declared: int | None = None) -> SactSchema:
    """The version of a file with this header: the declared one, else the first version it fits (v4.0 before
    v3.0). Raises HeaderError naming what is wrong against the declared version, or else against the
    version the header comes closest to."""
    if declared is not None:
        schema = SCHEMAS[declared]
        if problems := header_problems(schema, columns):
            raise HeaderError(problems, schema)
        return schema
    attempts = [(schema, header_problems(schema, columns)) for schema in SCHEMAS.values()]
    for schema, problems in attempts:
        if not problems:
            return schema
    schema, problems = min(attempts, key=lambda attempt: _distance(attempt[1]))  # min keeps the first of equals
    raise HeaderError(problems, schema)


def detect_keys(keys: Sequence[str], declared: int | None = None) -> SactSchema:
    """The version of a JSON batch whose records use these keys (a missing key is an empty value, so only
    unknown keys count): the declared one, else the first version that knows every key."""
    candidates = [SCHEMAS[declared]] if declared is not None else list(SCHEMAS.values())
    attempts = [(schema, _unknown(schema, keys)) for schema in candidates]
    for schema, problems in attempts:
        if not problems:
            return schema
    schema, problems = min(attempts, key=lambda attempt: len(attempt[1]))
    raise HeaderError(problems, schema)


def _unknown(schema: SactSchema, keys: Sequence[str]) -> list[Problem]:
    return [
        Problem(key, f"unknown key (not a {schema.title} data item)") for key in keys if key not in schema.by_header
    ]


def _distance(problems: list[Problem]) -> tuple[int, int]:
    unknown = sum(p.reason.startswith("unknown column") for p in problems)
    return unknown, len(problems)
