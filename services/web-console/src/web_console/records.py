"""The rows of a record's read view, declared once: a CDF application and a SACT submission (their
pages, with the forms, are in cdf/; validation queries are in returns/, the forecast outturn in
finance/). They show what the API returns to the user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web_console.labels import label
from web_console.pages import long_date, money

Format = Callable[[Any], str]


def _text(value: Any) -> str:
    if value is None or value == "":
        return "Not given"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(label(v) for v in value) or "None"
    return str(value)


@dataclass(frozen=True)
class Shown:
    key: str
    label: str
    format: Format = _text


def rows(record: dict[str, Any], shown: tuple[Shown, ...]) -> list[tuple[str, str]]:
    return [(s.label, s.format(record.get(s.key))) for s in shown if s.key in record]


def _when(value: Any) -> str:
    return long_date(value) or "Not yet"


def _state(value: Any) -> str:
    return label(value) if value else "Not given"


def _decision(value: Any) -> str:
    if not isinstance(value, dict):
        return _text(value)
    if value.get("approved"):
        return "Approved"
    unmet = ", ".join(value.get("unmet_criteria") or []) or "; ".join(value.get("reasons") or [])
    return f"Not approved: {unmet}" if unmet else "Not approved"


APPLICATION = (
    Shown("reference", "Reference"),
    Shown("status", "Status", _state),
    Shown("decision", "Decision", _decision),
    Shown("provider_ods", "Trust"),
    Shown("drug_name", "Drug"),
    Shown("indication", "Indication"),
    Shown("entry_id", "National list entry"),
    Shown("nhs_number", "NHS number"),
    Shown("date_of_birth", "Date of birth", long_date),
    Shown("clinician_gmc", "Consultant (GMC)"),
    Shown("planned_start", "Planned start", long_date),
    Shown("lapse_due", "Lapses if not started by", long_date),
    Shown("expected_cost", "Expected cost", money),
    Shown("first_administration", "First administration (SACT)", _when),
    Shown("cycles_given", "Cycles given"),
    Shown("final_treatment_date", "Final treatment", _when),
    Shown("stop_reason", "Reason for stopping", _state),
)
SUBMISSION = (
    Shown("submission_id", "Submission"),
    Shown("provider_ods", "Trust"),
    Shown("period", "Month"),
    Shown("source_format", "Format"),
    Shown("status", "Status", _state),
    Shown("rows_total", "Rows"),
    Shown("rows_accepted", "Rows accepted"),
    Shown("rows_rejected", "Rows with problems"),
    Shown("finished_at", "Processed", _when),
)
