"""The columnar validator (domain.sact_columns, via sact.pieces.validate_piece) against the row validator
(validate_piece_by_rows): the same rows accepted, the same COPY lines, problems, listed pairs and
duplicate keys, for both versions, on generated files with every kind of bad value."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdf_service.domain.sact_records import frame_of, rows_of
from cdf_service.domain.sact_rows import DrugDictionary, duplicate_key
from cdf_service.sact import pieces
from cdf_service.sact.pieces import PieceResult, ValidatorSpec, validate_piece, validate_piece_by_rows
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import SACT_V3, SACT_V4, Role, SactSchema
from cdf_service.synthetic.national import TrustPlan, build_trust, seed_entries
from cdf_service.synthetic.sact_files import bad_kinds, write_sact_csv

TODAY = date(2026, 11, 20)
DRUGS = DrugDictionary.build(reference_drugs(), {e.drug_name: e.dmd_ids for e in seed_entries().values()})
SCHEMAS = {4: SACT_V4, 3: SACT_V3}


def _file(schema: SactSchema, bad: int = 0) -> list[list[str]]:
    rng = random.Random(5)
    plan = TrustPlan(cdf_patients=40, routine_patients=80, as_of=TODAY - timedelta(days=1))
    text = io.StringIO()
    kinds = dict.fromkeys(bad_kinds(schema), bad)
    write_sact_csv(text, build_trust("RGT", plan, rng).courses, plan.as_of, rng, kinds, schema)
    return list(rows_of(text.getvalue().split("\n", 1)[1].encode()))


ROWS = {v: _file(s) for v, s in SCHEMAS.items()}
BAD_ROWS = {v: _file(s, bad=3) for v, s in SCHEMAS.items()}


def piece_of(rows: list[list[str]], line_end: str = "\n") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator=line_end).writerows(rows)  # quotes what needs quoting, as a trust's would
    return text.getvalue().encode()


def both(version: int, data: bytes, first_row: int = 0, columns: tuple[str, ...] | None = None) -> PieceResult:
    """The piece through both paths, each with validators of its own; their results, which must be equal."""
    spec = ValidatorSpec(str(uuid.uuid4()), version, columns or SCHEMAS[version].headers, "RGT", DRUGS, b"k", TODAY)
    results = []
    for validate in (validate_piece_by_rows, validate_piece):
        pieces._validators.clear()
        results.append(validate(spec, first_row, data))
    old, new = results
    assert new.problems == old.problems
    assert new.csv == old.csv
    assert (new.rows, new.listed, new.keys) == (old.rows, old.listed, old.keys)
    return new


@pytest.mark.parametrize("version", [4, 3])
def test_a_generated_file_with_every_kind_of_bad_row_gives_the_same_result(version: int) -> None:
    data = piece_of(BAD_ROWS[version])
    assert frame_of(data, len(SCHEMAS[version].headers)) is not None  # read as columns, not row by row
    result = both(version, data, first_row=1000)
    assert result.rejected >= 3 * (len(bad_kinds(SCHEMAS[version])) - 1)  # duplicates are found later
    line = result.csv.split(b"\n", 1)[0].decode().split(",")
    patient, drug, start, cycle, given = line[3], line[4], line[6], int(line[7]), line[9]
    assert int(line[-1]) == duplicate_key(patient, drug, start, cycle, given)


@pytest.mark.parametrize("version", [4, 3])
def test_line_endings_and_quoted_values_give_the_same_result(version: int) -> None:
    rows = [row.copy() for row in ROWS[version][:40]]
    family = SCHEMAS[version].headers.index(SCHEMAS[version].by_number[45].header)
    rows[3][family] = 'Smith, "Jr"\nthe second'  # quoted: a comma, quotes and a newline inside
    rows[7][family] = "O'Neil,"
    for line_end in ("\n", "\r\n"):
        data = piece_of(rows, line_end)
        assert frame_of(data, len(rows[0])) is not None
        both(version, data)


def test_a_value_the_record_writes_otherwise_goes_by_the_row_validator_and_keeps_its_place() -> None:
    """Well formed but not written as the record writes it: the columnar pass declines the row, the row
    validator accepts it, and its COPY line stays in file order."""
    schema, rows = SACT_V4, [row.copy() for row in ROWS[4][:30]]
    at = {n: schema.headers.index(schema.by_number[n].header) for n in (1, 22, 26, 31)}
    cycle = int(rows[5][at[26]])
    rows[5][at[26]] = f"0{cycle}"  # cycle 07: whole, but the record writes 7
    rows[9][at[31]] = f"  {rows[9][at[31]].lower()}  "  # a drug name in another case and spaced
    nhs = rows[12][at[1]]
    rows[12][at[1]] = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"  # an NHS number written with spaces
    result = both(4, piece_of(rows))
    assert not result.problems and result.csv.count(b"\n") == 30


ODD_VALUES = [
    "",
    " ",
    "x",
    "0",
    "1",
    "3",
    "07",
    "²",
    "1000",
    "1,3",
    "2,2",
    "3, 1",
    "Y",
    "N",
    "01",
    "2026-02-30",
    "2026-11-19",
    "2026-11-21",
    "2026-W47-5",
    "20261105",
    "1900-01-01",
    "2026-11-19T09:15:00",
    "2026-11-19 09:15",
    "2026-11-21T09:15:00",
    "2026-11-19T25:00:00",
    "C34.1",
    "RGT",
    "rgt01",
    "RGT01",
    "XYZ",
    "26643006",
    "9992719524",
    "999 271 9524",
    "CEMIPLIMAB",
    " Cemiplimab",
    "İmatinib",
    "\x1cpembrolizumab",
    'a "quoted" value',
    "two\nlines",
]
ODD = st.sampled_from(ODD_VALUES)
CASES = st.sampled_from([4, 3]).flatmap(
    lambda v: st.tuples(
        st.just(v),
        st.lists(
            st.tuples(
                st.integers(0, len(ROWS[v]) - 1),
                st.dictionaries(st.sampled_from(range(len(SCHEMAS[v].headers))), ODD, max_size=3),
            ),
            min_size=1,
            max_size=12,
        ),
    )
)


@settings(max_examples=300, deadline=None)
@given(case=CASES)
def test_the_columnar_path_accepts_exactly_what_the_row_validator_accepts(
    case: tuple[int, list[tuple[int, dict[int, str]]]],
) -> None:
    version, changes = case
    rows = []
    for index, values in changes:
        row = ROWS[version][index].copy()
        for at, value in values.items():
            row[at] = value
        rows.append(row)
    both(version, piece_of(rows), first_row=7)


def test_a_file_leaving_out_optional_columns_gives_the_same_result() -> None:
    schema = SACT_V4
    headers = (
        *schema.mandatory_headers,
        schema.by_number[10].header,
        schema.by_number[67].header,
        schema.by_number[66].header,
        schema.by_role[Role.ADMINISTERED].header,
        schema.by_role[Role.DISPENSED].header,
    )
    rows = [[row[schema.headers.index(h)] for h in headers] for row in ROWS[4]]
    result = both(4, piece_of(rows), columns=headers)
    assert result.rows == len(rows)


def test_a_small_piece_goes_row_by_row_and_a_large_one_by_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate_stored_piece picks the validator by the piece's line count (both give the same result:
    the tests above), so a trust's system posting a few rows does not pay Polars' fixed cost."""
    spec = ValidatorSpec(str(uuid.uuid4()), 4, SACT_V4.headers, "RGT", DRUGS, b"k", TODAY)
    taken: list[str] = []
    monkeypatch.setattr(pieces, "validate_piece", lambda *a: taken.append("columns") or validate_piece(*a))
    monkeypatch.setattr(pieces, "validate_piece_by_rows", lambda *a: taken.append("rows") or validate_piece_by_rows(*a))
    rows = ROWS[4] * (pieces.ROW_AT_A_TIME_BELOW_LINES // len(ROWS[4]) + 1)
    small = pieces.validate_stored_piece(spec, 0, piece_of(rows[:3]))
    large = pieces.validate_stored_piece(spec, 0, piece_of(rows[: pieces.ROW_AT_A_TIME_BELOW_LINES]))
    assert taken == ["rows", "columns"]
    assert (small.rows, large.rows) == (3, pieces.ROW_AT_A_TIME_BELOW_LINES)
