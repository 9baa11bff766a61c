"""Fields of the console's forms, declared once: how each is shown, read back and put into an API body.

A field is named by its path in the API's request body (`reasons.exceptionality`), so the API's
problem+json `errors[].field` lands on it. Reading a posted form gives the nested body and the
problems the console itself can see (a date that is not a date, an amount that is not a number);
everything else is the API's to judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from starlette.datastructures import ImmutableMultiDict

from web_console.forms import FormErrors, field_id

Kind = Literal["text", "textarea", "date", "radios", "checkboxes", "yes_no", "money", "email", "lines"]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind = "text"
    hint: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for radios and checkboxes
    optional: bool = False
    width: str | None = None  # nhsuk-input--width-N class for short answers
    autocomplete: str | None = None

    @property
    def id(self) -> str:
        return field_id(self.name)

    @property
    def anchor(self) -> str:
        """What the error summary links to: the first box of a date, the first option of a choice."""
        return f"{self.id}-day" if self.kind == "date" else self.id

    @property
    def shown_label(self) -> str:
        return f"{self.label} (optional)" if self.optional else self.label


def read(
    form: ImmutableMultiDict[str, Any], fields: Iterable[Field]
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """(the API body, the values to show again, the problems found before asking the API)."""
    body: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    errors = FormErrors()
    for f in fields:
        value, typed, problem = _read_one(form, f)
        shown[f.name] = typed
        if problem:
            errors.add(f.name, problem)
        elif value is not None:
            _put(body, f.name, value)
    return _listified(body), shown, errors


def _listified(node: Any) -> Any:
    """Rows named by index (`previous_treatments.0.outcome`) become the list the API takes."""
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listified(node[key]) for key in sorted(node, key=int)]
    return {key: _listified(value) for key, value in node.items()}


def _read_one(form: ImmutableMultiDict[str, Any], f: Field) -> tuple[Any, Any, str | None]:
    if f.kind == "date":
        parts = {p: str(form.get(f"{f.id}[{p}]", "")).strip() for p in ("day", "month", "year")}
        if not any(parts.values()):
            return None, parts, None
        try:
            return date(int(parts["year"]), int(parts["month"]), int(parts["day"])).isoformat(), parts, None
        except ValueError:
            return None, parts, f"{f.label} must be a real date, like 27 3 2026"
    if f.kind == "checkboxes":
        chosen = [str(v) for v in form.getlist(f.id)]
        return (chosen or None), chosen, None
    raw = str(form.get(f.id, "")).strip()
    if not raw:
        return None, raw, None
    if f.kind == "money":
        try:
            amount = Decimal(raw.replace(",", "").removeprefix("£"))
        except InvalidOperation:
            return None, raw, f"{f.label} must be an amount in pounds, like 1250.00"
        return str(amount), raw, None
    if f.kind == "yes_no":
        return raw == "yes", raw, None
    if f.kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()], raw, None
    return raw, raw, None


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def anchors(fields: Iterable[Field]) -> dict[str, str]:
    return {f.name: f.anchor for f in fields}


def labels_of(fields: Iterable[Field]) -> dict[str, str]:
    return {f.name: f.label for f in fields}


def shown_from(values: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, Any]:
    """What the API holds, as the form shows it (the page for an existing draft, a change link)."""
    shown: dict[str, Any] = {}
    for f in fields:
        value: Any = values
        for part in f.name.split("."):
            if isinstance(value, list) and part.isdigit():
                value = value[int(part)] if int(part) < len(value) else None
            else:
                value = value.get(part) if isinstance(value, Mapping) else None
        shown[f.name] = _as_shown(f, value)
    return shown


def _as_shown(f: Field, value: Any) -> Any:
    if value is None:
        return {"day": "", "month": "", "year": ""} if f.kind == "date" else [] if f.kind == "checkboxes" else ""
    if f.kind == "date":
        day = date.fromisoformat(str(value))
        return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}
    if f.kind == "yes_no":
        return "yes" if value else "no"
    if f.kind == "lines":
        return "\n".join(value)
    return value
