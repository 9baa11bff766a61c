"""Validating one stored piece into COPY-ready CSV: runs in a separate process, or a thread with 0 of them.

Parsing and checking a million rows is CPU work in Python; done in the service's own event loop it
competes with encoding the COPY. In a child process it runs beside the writer (and PostgreSQL on
another core), and what comes back is already the CSV text COPY reads, so the service process does
little per row. Every value written is one this service produced or validated (ODS code, hex patient_ref,
a drug name from the dictionary, dates, numbers, an outcome code), so none needs quoting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cdf_service.domain.sact_rows import Administration, DrugDictionary, RowValidator
from cdf_service.sact.records import rows_of

COPY_COLUMNS = ("submission_id", "row_no", *Administration._fields)


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
    problems: list[tuple[int, str, str]] = []
    listed: set[tuple[str, str]] = set()
    row_no = first_row
    for cells in rows_of(data):
        row_no += 1
        result = validate(cells)
        if type(result) is Administration:
            lines.append(prefix + _line(row_no, result))
            if result.listed:  # a few in a hundred rows: the pairs the matcher looks at
                listed.add((result.patient_ref, result.drug_key))
        else:
            problems.extend((row_no, p.field, p.reason) for p in result)
    text = "\n".join(lines)
    return PieceResult((text + "\n").encode() if lines else b"", problems, row_no - first_row, frozenset(listed))


def _line(row_no: int, a: Administration) -> str:
    final = a.final_treatment_date.isoformat() if a.final_treatment_date else ""
    return (
        f"{row_no},{a.provider_ods},{a.patient_ref},{_text(a.drug_key)},{'t' if a.listed else 'f'},"
        f"{a.regimen_start.isoformat()},{a.cycle_number},{a.cycle_start.isoformat()},"
        f"{a.administration_date.isoformat()},{final},{a.outcome or ''}"
    )


def _text(value: str) -> str:
    """A drug name as a CSV field (names come from the list admins edit, so quote when needed)."""
    if any(c in value for c in ',"\n\r') or not value:
        return '"' + value.replace('"', '""') + '"'
    return value
