"""Applications by mail: the form's fields and their checks, a `Label: value` body or a JSON attachment
parsed into them, and the problems found, per field. Problems never quote the value: they travel in
replies and on the bus. The field list (`FORM_FIELDS`) is documented in the service README."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from casework.identifiers import (
    is_valid_icd10_code,
    is_valid_nhs_number,
    is_valid_ods_code,
    is_valid_opcs4_code,
    is_valid_snomed_id,
    normalise_nhs_number,
)
from notification_service.domain.secure_domains import address_or_none

# Below this many recognised labels a body is ordinary correspondence, not a form.
MIN_FORM_LABELS = 3


Check = Callable[[str], "str | None"]  # returns the normalised value, or None when invalid


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    required: bool = False
    check: Check | None = None
    problem: str = ""
    aliases: tuple[str, ...] = ()


def _nhs_number(value: str) -> str | None:
    digits = normalise_nhs_number(value)
    return digits if is_valid_nhs_number(digits) else None


def _upper(predicate: Callable[[str], bool]) -> Check:
    def check(value: str) -> str | None:
        return value.upper() if predicate(value.upper()) else None

    return check


def _plain(predicate: Callable[[str], bool]) -> Check:
    return lambda value: value if predicate(value) else None


def _one_of(*choices: str) -> Check:
    return lambda value: value.lower() if value.lower() in choices else None


def _yes_no(value: str) -> str | None:
    return {"yes": "yes", "y": "yes", "true": "yes", "no": "no", "n": "no", "false": "no"}.get(value.lower())


def _amount(value: str) -> str | None:
    try:
        amount = Decimal(value.replace("£", "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return str(amount) if amount >= 0 else None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y")


def parse_day(value: str) -> date | None:
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), form).date()  # noqa: DTZ007 - a calendar date, no instant
        except ValueError:
            continue
    return None


def _day(value: str) -> str | None:
    day = parse_day(value)
    return day.isoformat() if day else None


F = FormField
FORM_FIELDS: tuple[FormField, ...] = (
    # patient
    F("nhs_number", "NHS number", True, _nhs_number, "not a valid NHS number", ("NHS no",)),
    F("patient_name", "Patient name", True),
    F("date_of_birth", "Date of birth", True, _day, "not a date (use YYYY-MM-DD or DD/MM/YYYY)", ("DOB",)),
    F("sex", "Sex"),
    F("gp_practice", "GP practice"),
    # requesting clinician
    F("clinician_name", "Clinician name", True),
    F("clinician_role", "Clinician role"),
    F("registration_number", "Registration number", True, aliases=("GMC number", "GMC")),
    F("clinician_email", "Clinician email", False, address_or_none, "not an email address"),
    F("trust_ods_code", "Trust ODS code", True, _upper(is_valid_ods_code), "not an ODS code", ("ODS code",)),
    # treatment
    F("treatment_name", "Treatment name", True, aliases=("Treatment",)),
    F("dmd_code", "dm+d code", False, _plain(is_valid_snomed_id), "not a dm+d (SNOMED CT) id"),
    F("opcs4_code", "OPCS-4 code", False, _upper(is_valid_opcs4_code), "not an OPCS-4 code"),
    F("dose", "Dose"),
    F("route", "Route"),
    F("frequency", "Frequency"),
    F("planned_duration", "Planned duration"),
    F("cost_per_course", "Cost per course", False, _amount, "not an amount"),
    F("total_cost", "Total cost", False, _amount, "not an amount"),
    F("setting", "Setting"),
    # clinical
    F("diagnosis", "Diagnosis", True),
    F("diagnosis_icd10", "Diagnosis ICD-10", True, _upper(is_valid_icd10_code), "not an ICD-10 code", ("ICD-10",)),
    F("stage", "Stage"),
    F("relevant_history", "Relevant history"),
    F("current_condition", "Current condition"),
    F("previous_treatments", "Previous treatments"),
    F("standard_options_unsuitable", "Why standard options are unsuitable"),
    # exceptionality, outcomes, evidence
    F("case_for_exceptionality", "Case for exceptionality", True, aliases=("Exceptionality",)),
    F("expected_benefit", "Expected additional benefit"),
    F("outcome_measures", "Outcomes and measurement"),
    F("start_criteria", "Start criteria"),
    F("stop_criteria", "Stop criteria"),
    F("evidence", "Evidence"),
    F("other_patients_similar", "Other patients in the same situation", False, _yes_no, "answer yes or no"),
    F("urgency", "Urgency", True, _one_of("routine", "urgent"), "answer routine or urgent"),
    F("urgency_reason", "Urgency reason"),
    F("part_of_trial", "Part of a trial", False, _yes_no, "answer yes or no"),
    F("patient_consent", "Patient consent to share information", True, _yes_no, "answer yes or no", ("Consent",)),
    F("chief_pharmacist_support", "Chief pharmacist support", False, _yes_no, "answer yes or no"),
)
del F


def _label_key(label: str) -> str:
    # "Diagnosis ICD-10", "diagnosis_icd10" and "DIAGNOSIS ICD10" all become "diagnosisicd10".
    return re.sub(r"[^a-z0-9]", "", label.lower())


_BY_LABEL: dict[str, FormField] = {_label_key(name): f for f in FORM_FIELDS for name in (f.key, f.label, *f.aliases)}
_BY_KEY: dict[str, FormField] = {f.key: f for f in FORM_FIELDS}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class ApplicationSource(StrEnum):
    json_attachment = "json_attachment"
    body_form = "body_form"


@dataclass(frozen=True)
class ExtractedApplication:
    """Normalised field values by key (`FORM_FIELDS`) and the problems found; holds patient data."""

    source: ApplicationSource
    fields: dict[str, str] = field(repr=False)
    problems: tuple[FieldProblem, ...]

    def problem_lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def validate_application(
    raw: Mapping[str, str], source: ApplicationSource, today: date | None = None
) -> ExtractedApplication:
    """Normalise each known field and list the problems; unknown keys are kept out of `fields`."""
    fields: dict[str, str] = {}
    problems: list[FieldProblem] = [FieldProblem(k, "unknown field") for k in raw if k not in _BY_KEY]
    for spec in FORM_FIELDS:
        value = raw.get(spec.key, "").strip()
        problem = _field_problem(spec, value)
        if problem:
            problems.append(FieldProblem(spec.key, problem))
        elif value:
            fields[spec.key] = spec.check(value) if spec.check else value  # type: ignore[assignment]  # a valid value
    problems += _cross_field_problems(fields, today)
    return ExtractedApplication(source, fields, tuple(problems))


def _field_problem(spec: FormField, value: str) -> str | None:
    if not value:
        return "required" if spec.required else None
    if spec.check is not None and spec.check(value) is None:
        return spec.problem
    return None


def _cross_field_problems(fields: Mapping[str, str], today: date | None) -> list[FieldProblem]:
    problems = []
    if "dmd_code" not in fields and "opcs4_code" not in fields:
        problems.append(FieldProblem("dmd_code", "give a dm+d code (drug) or an OPCS-4 code (procedure)"))
    if fields.get("urgency") == "urgent" and not fields.get("urgency_reason"):
        problems.append(FieldProblem("urgency_reason", "required when urgency is urgent"))
    if fields.get("patient_consent") == "no":
        problems.append(FieldProblem("patient_consent", "consent to share information is needed"))
    born = fields.get("date_of_birth")
    if born and today and date.fromisoformat(born) > today:
        problems.append(FieldProblem("date_of_birth", "in the future"))
    return problems


def parse_form(body_text: str) -> dict[str, str] | None:
    """`Label: value` lines; a value runs on over following lines until the next known label.

    Lines before the first label (a greeting) are ignored; a signature line (`-- `) ends the form.
    Returns None when fewer than `MIN_FORM_LABELS` known labels appear.
    """
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in body_text.splitlines():
        if line.rstrip() == "--":
            break
        key, value = _labelled(line)
        if key is not None and key not in found:
            current, found[key] = key, [value]
        elif current is not None:
            found[current].append(line.strip())
    if len(found) < MIN_FORM_LABELS:
        return None
    return {k: "\n".join(v).strip() for k, v in found.items()}


_LABEL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 +_\-/().']{0,60}?)\s*:\s?(.*)$")


def _labelled(line: str) -> tuple[str | None, str]:
    match = _LABEL_LINE.match(line)
    if not match:
        return None, ""
    spec = _BY_LABEL.get(_label_key(match.group(1)))
    return (spec.key, match.group(2).strip()) if spec else (None, "")


def parse_json_application(content: bytes) -> dict[str, str] | str:
    """A flat JSON object keyed by field key or label; returns the problem text when unreadable."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not valid UTF-8 JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    return {_json_key(k): _json_value(v) for k, v in data.items()}


def _json_key(key: str) -> str:
    spec = _BY_LABEL.get(_label_key(str(key)))
    return spec.key if spec else str(key)


def _json_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_json_value(v) for v in value)
    return "" if value is None else str(value)
