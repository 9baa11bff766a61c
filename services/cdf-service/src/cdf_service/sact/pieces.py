"""Validating one stored piece into COPY-ready CSV: runs in a separate process, or a thread with 0 of them.

Parsing and checking a million rows is CPU work in Python; done in the service's own event loop it
competes with encoding the COPY. In a child process it runs beside the writer (and PostgreSQL on
another core), and what comes back is already the CSV text COPY reads, so the service process does
little per row. Every value written is one this service produced or validated (ODS code, hex patient_ref,
a drug name from the dictionary, dates, numbers, a stop-reason mask), so none needs quoting.

A piece is read and checked a column at a time (Polars: `records.frame_of`, `domain.sact_columns`), and
the COPY lines of the rows that pass are formatted there too; the rows it declines are checked one by
one by `RowValidator.problems` (every problem named). A piece Polars would not read as the csv module
does goes through `validate_piece_by_rows`, the row validator alone, and so does a small piece (for
it, Polars' fixed cost is more than the rows': `validate_stored_piece`). Both give the same PieceResult.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from zlib import crc32

import polars as pl

from cdf_service.domain.sact_columns import Accepted, ColumnValidator
from cdf_service.domain.sact_records import frame_of, rows_of
from cdf_service.domain.sact_rows import (
    CYCLE_TEXT,
    REGIMEN_TEXT,
    Administration,
    DrugDictionary,
    duplicate_key_of_cycle,
    regimen_checksum,
)
from cdf_service.domain.sact_validator import RowValidator
from cdf_service.sact_schema import SCHEMAS

COPY_COLUMNS = ("submission_id", "row_no", *Administration._fields, "duplicate_key")


@dataclass(frozen=True)
class ValidatorSpec:
    """What a validator needs; sent once per piece (small), the validator itself is kept per process."""

    submission_id: str
    version: int  # the file's SACT version (cdf_service.sact_schema.SCHEMAS)
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


_validators: dict[str, tuple[RowValidator, ColumnValidator]] = {}  # per process: caches kept warm


def _validator(spec: ValidatorSpec) -> tuple[RowValidator, ColumnValidator]:
    validators = _validators.get(spec.submission_id)
    if validators is None:
        _validators.clear()  # one submission at a time per worker
        rows = RowValidator(
            SCHEMAS[spec.version], spec.columns, spec.trust, spec.drugs, spec.patient_ref_key, spec.today
        )
        validators = _validators[spec.submission_id] = (rows, ColumnValidator(rows))
    return validators


def check_header(spec: ValidatorSpec) -> None:
    """Fails (as validating would) when the file's header is not one its schema reads; the validators
    built are kept for this process, so a piece validated here next does not build them again."""
    _validator(spec)


# A piece of fewer lines than this is checked a row at a time. Polars costs about 8 ms of CPU a piece
# whatever its size (reading the frame, planning the checks), the row validator about 9 us a row: the
# row validator is the cheaper one up to about 3,000 rows (bench/cdf_sact_validator.py --small prints
# both), and a trust's system sending a few rows pays 0.2 ms rather than 8. Both give the same result
# (tests/unit/test_cdf_sact_columns.py). Lines, not rows: counting them needs no parsing, and a
# quoted newline only makes a piece look larger.
ROW_AT_A_TIME_BELOW_LINES = 2000


def validate_stored_piece(spec: ValidatorSpec, first_row: int, data: bytes) -> PieceResult:
    """The piece validated by whichever of the two validators is the cheaper for its size."""
    if data.count(b"\n") < ROW_AT_A_TIME_BELOW_LINES:
        return validate_piece_by_rows(spec, first_row, data)
    return validate_piece(spec, first_row, data)


def validate_piece(spec: ValidatorSpec, first_row: int, data: bytes) -> PieceResult:
    """The piece's rows read and checked a column at a time; the rows that pass are written without a
    Python step per row but their duplicate checksum, the rest checked one by one for every problem.
    A piece Polars would not read as the csv module does is validated a row at a time."""
    rows, columns = _validator(spec)
    frame = frame_of(data, rows.width)
    if frame is None:
        return validate_piece_by_rows(spec, first_row, data)
    accepted = columns.accept(frame)
    lines, keys = _lines(spec.submission_id, first_row, accepted)
    listed = set(accepted.records.filter("listed").select("patient_ref", "drug_key").unique().iter_rows())
    problems: list[tuple[int, str, str]] = []
    more: list[tuple[int, str, int]] = []  # rows the columnar pass declined and the row validator accepts
    prefix = f"{spec.submission_id},"
    for position in accepted.declined:
        row_no = first_row + position + 1
        result = rows.problems(list(frame.row(position)))
        if isinstance(result, Administration):
            line, key = _line(prefix, row_no, result)
            more.append((row_no, line, key))
            if result.listed:
                listed.add((result.patient_ref, result.drug_key))
        else:
            problems.extend((row_no, p.field, p.reason) for p in result)
    if more:  # in file order, as a row at a time would have them
        numbered = sorted(chain(zip(_row_numbers(first_row, accepted), lines.to_list(), keys, strict=True), more))
        lines = pl.Series([line for _, line, _ in numbered], dtype=pl.String)
        keys = array("L", [key for _, _, key in numbered])
    csv = (lines.str.join("\n").item() + "\n").encode() if len(lines) else b""
    return PieceResult(csv, problems, frame.height, frozenset(listed), keys)


def validate_piece_by_rows(spec: ValidatorSpec, first_row: int, data: bytes) -> PieceResult:
    """The piece's rows read and checked one at a time (`RowValidator.accept`, its fast path, then
    `problems` for the rows it declines)."""
    validator = _validator(spec)[0]
    accept, check = validator.accept, validator.problems  # the common case first, the reasons only when needed
    prefix = f"{spec.submission_id},"
    lines: list[str] = []
    keys: array[int] = array("L")
    problems: list[tuple[int, str, str]] = []
    listed: set[tuple[str, str]] = set()
    row_no = first_row
    for cells in rows_of(data, validator.leading):  # a regimen's rows share their first cells
        row_no += 1
        result = accept(cells) or check(cells)
        if isinstance(result, Administration):
            line, key = _line(prefix, row_no, result)
            lines.append(line)
            keys.append(key)
            if result.listed:  # a few in a hundred rows: the pairs the matcher looks at
                listed.add((result.patient_ref, result.drug_key))
        else:
            problems.extend((row_no, p.field, p.reason) for p in result)
    text = "\n".join(lines)
    csv = (text + "\n").encode() if lines else b""
    return PieceResult(csv, problems, row_no - first_row, frozenset(listed), keys)


def _row_numbers(first_row: int, accepted: Accepted) -> list[int]:
    return (accepted.rows + (first_row + 1)).to_list()


def _lines(submission_id: str, first_row: int, accepted: Accepted) -> tuple[pl.Series, array[int]]:
    """The COPY lines of the rows the columnar pass accepted and their duplicate checksums: the fields
    formatted in Polars; the checksum (zlib's CRC-32 of the regimen's text and the cycle's, one after
    the other: what `duplicate_key` continues) the one step a row in Python."""
    records = accepted.records
    if records.is_empty():
        return pl.Series([], dtype=pl.String), array("L")
    what = ("patient_ref", "drug_key", "regimen_start", "cycle_number", "administration_date")
    texts = records.select(pl.format(REGIMEN_TEXT + CYCLE_TEXT, *what)).to_series().to_list()
    keys = array("L", map(crc32, map(str.encode, texts)))  # = duplicate_key(...) of each row
    drug_fields = records.get_column("drug_key").unique().to_list()
    flag = {True: "t", False: "f"}
    text = records.select(
        pl.concat_str(
            pl.lit(submission_id),
            accepted.rows + (first_row + 1),
            "provider_ods",
            "patient_ref",
            pl.col("drug_key").replace_strict(drug_fields, [_drug_field(d) for d in drug_fields]),
            pl.col("listed").replace_strict(flag),
            "regimen_start",
            "cycle_number",
            "cycle_start",
            "administration_date",
            pl.col("final_treatment_date").fill_null(""),
            pl.col("stop_reasons").fill_null(""),
            "cycles",
            pl.col("cycle_length_days").fill_null(""),
            pl.col("dispensed").replace_strict(flag),
            pl.col("nhs_number").fill_null(""),
            pl.Series(keys, dtype=pl.UInt32),
            separator=",",
        )
    )
    return text.to_series(), keys


def _line(prefix: str, row_no: int, a: Administration) -> tuple[str, int]:
    """The COPY line of an accepted row (after `prefix`, the submission id) and its duplicate checksum
    (a million a file: the few distinct dates and drug names are formatted once each)."""
    regimen = a[:5]  # provider, patient, drug, listed, regimen start: the same on a regimen's rows of a drug
    regimen_fields, checksum = _REGIMENS.get(regimen) or _regimen(regimen)
    cycle, cycle_day, given_day, final_day, reasons, cycles, length, dispensed, nhs_number = a[5:]
    iso = _ISO
    given = iso.get(given_day) or _iso(given_day)
    cycle_start = iso.get(cycle_day) or _iso(cycle_day)
    final = (iso.get(final_day) or _iso(final_day)) if final_day else ""
    key = duplicate_key_of_cycle(checksum, cycle, given)
    line = (
        f"{prefix}{row_no},{regimen_fields},{cycle},{cycle_start},{given},{final},{reasons or ''},{cycles},"
        f"{length or ''},{'t' if dispensed else 'f'},{nhs_number or ''},{key}"
    )
    return line, key


_REGIMENS: dict[tuple[str, str, str, bool, date], tuple[str, int]] = {}


def _regimen(regimen: tuple[str, str, str, bool, date]) -> tuple[str, int]:
    """The COPY fields a regimen's rows of one drug share, and their part of the duplicate checksum."""
    provider, patient, drug_key, listed, start_day = regimen
    start = _ISO.get(start_day) or _iso(start_day)
    drug = _DRUG_FIELDS.get(drug_key) or _drug_field(drug_key)
    if len(_REGIMENS) >= 4096:  # a regimen's rows come together: a few thousand is plenty
        _REGIMENS.clear()
    found = _REGIMENS[regimen] = (
        f"{provider},{patient},{drug},{'t' if listed else 'f'},{start}",
        regimen_checksum(patient, drug_key, start),
    )
    return found


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
