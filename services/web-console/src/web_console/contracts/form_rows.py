"""What the contract forms share: repeated rows (service lines, budget lines, planned actions) of which
only the filled ones are sent, an activity plan typed as twelve numbers, and the API's field paths
brought back to the field the page shows (a list's row renumbered, an item of the plan, a change's tag)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from web_console.apis import ApiProblem
from web_console.form_fields import Field
from web_console.forms import FormErrors

MONTHS = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar")
PLAN_HINT = "Twelve numbers, April to March, separated by spaces, for example 10 10 12 12 10 8 10 10 12 12 10 8"


def filled_rows(shown: Mapping[str, Any], prefix: str, names: Iterable[str], count: int) -> list[int]:
    """The form's rows with anything typed in them, in order: the API numbers them 0, 1, ... as sent."""
    names = tuple(names)
    return [i for i in range(count) if any(_typed(shown.get(f"{prefix}.{i}.{n}")) for n in names)]


def _typed(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(str(v).strip() for v in value.values())
    return bool(value)


def activity_plan(text: str) -> list[str] | None:
    """Twelve monthly figures from what was typed (spaces or commas between them), or None."""
    figures = [x for x in re.split(r"[\s,]+", text.strip()) if x]
    if len(figures) != 12 or not all(re.fullmatch(r"\d+(\.\d{1,2})?", x) for x in figures):
        return None
    return figures


def plan_problem(label: str) -> str:
    return f"{label} must be twelve numbers, April to March, like 10 10 12 12 10 8 10 10 12 12 10 8"


def problems_at_fields(
    problem: ApiProblem,
    fields: Iterable[Field],
    *,
    renumber: Mapping[str, list[int]] | None = None,
    under: str = "",
    drop: Iterable[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> FormErrors:
    """The API's problems, each at the field the page shows.

    `renumber` maps a list's path to the form rows that were sent (the API's row k is the form's row
    renumber[path][k]); `under` prefixes the paths of a body that was one row of the form; a segment in
    `drop` (a change's tag) is left out; `aliases` names the field for a path the page has no field of its
    own for (a whole change: its service line)."""
    fields = tuple(fields)
    known = {f.name: f.label for f in fields}
    moved = ApiProblem(problem.status, problem.title, problem.detail, [], problem.body)
    for entry in problem.errors:
        path = _renumbered(f"{under}{entry['field']}", renumber or {}, set(drop))
        path = (aliases or {}).get(path, path)
        moved.errors.append({"field": _nearest(path, known), "message": entry["message"]})
    return FormErrors.from_problem(moved, known)


def _renumbered(path: str, renumber: Mapping[str, list[int]], drop: set[str]) -> str:
    path = re.sub(r"\[(\d+)\]", r".\1", path)  # `changes[0]`, as a replayed variation names its change
    parts = [p for p in path.split(".") if p not in drop]
    for i in range(len(parts) - 1):
        rows = renumber.get(".".join(parts[: i + 1]))
        if rows is not None and parts[i + 1].isdigit() and int(parts[i + 1]) < len(rows):
            parts[i + 1] = str(rows[int(parts[i + 1])])
    return ".".join(parts)


def _nearest(path: str, known: Mapping[str, str]) -> str:
    """The field itself, or the closest field above it (`activity_plan.3` is the plan's one box)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return path


def row_fields(prefix: str, index: int, fields: Iterable[Field], what: str) -> tuple[Field, ...]:
    """A row's fields, named by their place in the API body (`terms.service_lines.1.price`) and labelled
    with the row (`Service line 2 price`), so a problem in the summary says which row it is in."""
    return tuple(
        Field(
            f"{prefix}.{index}.{f.name}",
            f"{what} {index + 1} {f.label[:1].lower()}{f.label[1:]}",
            f.kind,
            hint=f.hint,
            options=f.options,
            optional=f.optional,
            width=f.width,
        )
        for f in fields
    )
