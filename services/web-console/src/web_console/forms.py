"""Problems at their fields: the design system's error summary and error messages from problem+json.

A field on a page has the id of its API path with dots as dashes (`patient.nhs_number` is
`patient-nhs_number`), so the error summary links straight to it. A problem whose field the page
does not show is listed in the summary only, never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from web_console.apis import ApiProblem


def field_id(path: str) -> str:
    return path.replace(".", "-")


@dataclass
class FormErrors:
    """Messages by field path, in the order the problems came."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def from_problem(cls, problem: ApiProblem, labels: Mapping[str, str] | None = None) -> FormErrors:
        """The problem's field errors, each named by the label the page gives its field (or its path)."""
        errors = cls()
        for entry in problem.errors:
            path = entry["field"]
            errors.add(path, _sentence((labels or {}).get(path) or _humanised(path), entry["message"]))
        if not problem.errors:
            errors.general.append(problem.detail or problem.title)
        return errors

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, message)

    def merge(self, other: FormErrors) -> FormErrors:
        for path, message in other.by_field.items():
            self.add(path, message)
        self.general += other.general
        return self

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def message(self, path: str) -> dict[str, str] | None:
        """The `errorMessage` parameter of an NHS.UK form macro, or None."""
        text = self.by_field.get(path)
        return {"text": text} if text else None

    def summary(self, anchors: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """The error summary's list: a problem of a field on the page links to it (`anchors`: field path ->
        the id to focus; by default every field is taken to be on the page under its own id)."""
        items = []
        for path, message in self.by_field.items():
            anchor = anchors.get(path) if anchors is not None else field_id(path)
            items.append({"text": message, "href": f"#{anchor}"} if anchor else {"text": message})
        return items + [{"text": text} for text in self.general]


def _humanised(path: str) -> str:
    name = path.replace("_", " ").replace(".", " ").strip()
    return f"{name[:1].upper()}{name[1:]}"


def _sentence(name: str, message: str) -> str:
    """'is required' at `patient.name` reads 'Full name: is required' (pydantic's 'Value error, ' dropped)."""
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = "is required" if message == "Field required" else message  # pydantic's word for a missing one
    return f"{name}: {message}" if name else message


def values_from(form: Mapping[str, object], names: Iterable[str]) -> dict[str, str]:
    """What the user typed, to show again beside the problems."""
    return {name: str(form.get(name, "") or "") for name in names}
