"""Validating one stored piece into COPY-ready CSV: runs in a separate process, or a thread with 0 of them.

Parsing and checking a million rows is CPU work in Python; done in the service's own event loop it
competes with encoding the COPY. In a child process it runs beside the writer (and PostgreSQL on
another core), and what comes back is already the CSV text COPY reads, so the service process does
little per row. Every value written is one this service produced or validated (ODS code, hex patient_ref,
a drug name from the dictionary, dates, numbers, an outcome code), so none needs quoting.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date

from cdf_service.domain.sact_rows import Administration, DrugDictionary, RowValidator, duplicate_key
from cdf_service.sact.records import rows_of

COPY_COLUMNS = ("submission_id", "row_no", *Administration._fields, "duplicate_key")


@dataclass(frozen=True)
class ValidatorSpec:
    """What a validator needs; sent once per piece (small), the validator itself is kept per process."""

    submission_id: str
    columns: tuple[str, ...]
    trust: str
    drugs: DrugDictionary
    patient_ref_key: bytes
    today: date


@dataclass(frozen=True)
class PieceResult:
    csv: bytes  # accepted rows, COPY_COLUMNS, CSV without header
    problems: list[tuple[int, str, str]]  # (row, field, reason)
    rows: int
    listed: frozenset[tuple[str, str]] = frozenset()  # (patient_ref, drug key) of accepted CDF-listed rows
    keys: array[int] = field(default_factory=lambda: array("L"))  # duplicate_key of each accepted row

    @property
    def rejected(self) -> int:
        return len({row for row, _, _ in self.problems})


_validators: dict[str, RowValidator] = {}  # per process: keeps the NHS number and date caches warm


def _validator(spec: ValidatorSpec) -> RowValidator:
    validator = _validators.get(spec.submission_id)
    if validator is None:
        _validators.clear()  # one submission at a time per worker
        validator = _validators[spec.submission_id] = RowValidator(
            spec.columns, spec.trust, spec.drugs, spec.patient_ref_key, spec.today
        )
    return validator


def validate_piece(spec: ValidatorSpec, first_row: int, data: bytes) -> PieceResult:
    validate = _validator(spec).validate
    prefix = f"{spec.submission_id},"
    lines: list[str] = []
    keys: array[int] = array("L")
    problems: list[tuple[int, str, str]] = []
    listed: set[tuple[str, str]] = set()
    row_no = first_row
    for cells in rows_of(data):
        row_no += 1
        result = validate(cells)
        if type(result) is Administration:
            line, key = _line(row_no, result)
            lines.append(prefix + line)
            keys.append(key)
            if result.listed:  # a few in a hundred rows: the pairs the matcher looks at
                listed.add((result.patient_ref, result.drug_key))
        else:
            problems.extend((row_no, p.field, p.reason) for p in result)
    text = "\n".join(lines)
    csv = (text + "\n").encode() if lines else b""
    return PieceResult(csv, problems, row_no - first_row, frozenset(listed), keys)


def _line(row_no: int, a: Administration) -> tuple[str, int]:
    """The COPY line of an accepted row and its duplicate checksum (a million a file: the few distinct
    dates and drug names are formatted once each)."""
    iso = _ISO
    start = iso.get(a.regimen_start) or _iso(a.regimen_start)
    given = iso.get(a.administration_date) or _iso(a.administration_date)
    cycle_start = iso.get(a.cycle_start) or _iso(a.cycle_start)
    final = (iso.get(a.final_treatment_date) or _iso(a.final_treatment_date)) if a.final_treatment_date else ""
    drug = _DRUG_FIELDS.get(a.drug_key) or _drug_field(a.drug_key)
    key = duplicate_key(a.patient_ref, a.drug_key, start, a.cycle_number, given)
    line = (
        f"{row_no},{a.provider_ods},{a.patient_ref},{drug},{'t' if a.listed else 'f'},"
        f"{start},{a.cycle_number},{cycle_start},{given},{final},{a.outcome or ''},{key}"
    )
    return line, key


_ISO: dict[date, str] = {}
_DRUG_FIELDS: dict[str, str] = {}


def _iso(day: date) -> str:
    if len(_ISO) >= 100_000:  # bounded, like the validator's caches
        _ISO.clear()
    text = _ISO[day] = day.isoformat()
    return text


def _drug_field(value: str) -> str:
    """A drug name as a CSV field (names come from the list admins edit, so quote when needed)."""
    if any(c in value for c in ',"\n\r') or not value:
        field = '"' + value.replace('"', '""') + '"'
    else:
        field = value
    if len(_DRUG_FIELDS) >= 10_000:
        _DRUG_FIELDS.clear()
    _DRUG_FIELDS[value] = field
    return field
