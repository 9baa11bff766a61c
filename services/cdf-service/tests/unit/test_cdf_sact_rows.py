from __future__ import annotations

import io
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdf_service.domain.sact_rows import Administration, DrugDictionary, HeaderError, RowValidator, check_header
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import FIELDS, REQUIRED
from cdf_service.synthetic.national import TrustPlan, build_trust, seed_entries, write_sact_csv

TODAY = date(2026, 11, 20)
INDEX = {name: i for i, name in enumerate(FIELDS)}


def _validator() -> RowValidator:
    listed = {e.drug_name: e.dmd_ids for e in seed_entries().values()}
    return RowValidator(FIELDS, "RGT", DrugDictionary.build(reference_drugs(), listed), "key", TODAY)


def _rows() -> list[list[str]]:
    rng = random.Random(3)
    plan = TrustPlan(cdf_patients=20, routine_patients=30, as_of=TODAY - timedelta(days=1))
    buffer = io.StringIO()
    write_sact_csv(buffer, build_trust("RGT", plan, rng).courses, plan.as_of, rng)
    return [line.split(",") for line in buffer.getvalue().splitlines()[1:]]


VALIDATOR = _validator()
ROWS = _rows()


def test_generated_rows_are_all_accepted_with_their_facts() -> None:
    records = [VALIDATOR.validate(row) for row in ROWS]
    assert all(isinstance(r, Administration) for r in records)
    first = records[0]
    assert isinstance(first, Administration)
    assert first.provider_ods == "RGT" and len(first.patient_ref) == 64
    assert first.administration_date == date.fromisoformat(ROWS[0][INDEX["ADMINISTRATION_DATE"]])


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("NHS_NUMBER", "9990000019", "not a valid NHS number (Modulus 11)"),
        ("DRUG_NAME", "Notarealumab", "unknown drug: 'Notarealumab' is not a known SACT drug name"),
        ("ADMINISTRATION_DATE", "2026-13-01", "not a date (YYYY-MM-DD): '2026-13-01'"),
        ("ADMINISTRATION_DATE", "2026-11-21", "is in the future"),
        ("DATE_OF_FINAL_TREATMENT", "2000-01-01", "is before the start date of the regimen (stop before start)"),
        ("CYCLE_NUMBER", "²", "must be a whole number 0-999"),
        ("ORGANISATION_CODE_OF_PROVIDER", "RRV", "must be RGT or one of its sites"),
        ("PRIMARY_DIAGNOSIS", "lung", "not an ICD-10 code: 'lung'"),
        ("REGIMEN_OUTCOME_SUMMARY", "7", "must be one of 1, 2, 3, 4, 5, 9"),
        ("REGIMEN", " ", "is required"),
    ],
)
def test_each_rule_names_its_field(field: str, value: str, reason: str) -> None:
    row = ROWS[0].copy()
    if field == "DRUG_NAME":
        row[INDEX["DRUG_DM_D_CODE"]] = ""
    row[INDEX[field]] = value
    assert VALIDATOR.validate(row) == [(field, reason)]


def test_every_problem_of_a_row_is_listed() -> None:
    row = ROWS[0].copy()
    row[INDEX["NHS_NUMBER"]] = "123"
    row[INDEX["DATE_OF_BIRTH"]] = ""
    row[INDEX["DRUG_DM_D_CODE"]] = "1234567"
    problems = VALIDATOR.validate(row)
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["NHS_NUMBER", "DRUG_DM_D_CODE", "DATE_OF_BIRTH"]


def test_a_row_of_the_wrong_width_is_one_problem() -> None:
    assert VALIDATOR.validate(ROWS[0][:-1]) == [("row", f"has {len(FIELDS) - 1} fields, the header has {len(FIELDS)}")]


def test_header_must_hold_the_required_items_once_and_nothing_unknown() -> None:
    assert check_header(list(FIELDS)) == []
    missing = [f for f in FIELDS if f != "NHS_NUMBER"]
    assert check_header(missing) == [("NHS_NUMBER", "column missing from the header")]
    assert check_header([*FIELDS, "SHOE_SIZE"]) == [("SHOE_SIZE", "unknown column (not a SACT data item)")]
    assert check_header([*FIELDS, "REGIMEN"]) == [("REGIMEN", "column appears twice")]
    with pytest.raises(HeaderError):
        RowValidator(sorted(REQUIRED - {"DRUG_NAME"}), "RGT", VALIDATOR.drugs, "k", TODAY)


MUTATIONS = st.sampled_from(
    [
        "",
        " ",
        "x",
        "0",
        "9",
        "²",
        "1000",
        "2026-02-30",
        "2026-11-19",
        "2026-11-21",
        "1900-01-01",
        "C34.1",
        "RGT",
        "rgt01",
    ]
)


@settings(max_examples=400, deadline=None)
@given(row=st.sampled_from(ROWS), changes=st.dictionaries(st.sampled_from(FIELDS), MUTATIONS, max_size=3))
def test_the_fast_path_accepts_exactly_what_the_full_check_accepts(row: list[str], changes: dict[str, str]) -> None:
    mutated = row.copy()
    for name, value in changes.items():
        mutated[INDEX[name]] = value
    fast = VALIDATOR._accept(mutated)
    full = VALIDATOR._check(mutated)
    assert (fast is not None) == isinstance(full, Administration)
    if fast is not None:
        assert fast == full
