"""Validating SACT rows of each version: every rule names its field, every problem of a row is reported,
and v4.0's items 80-83 and 88 say what the row means."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.events.catalogue.cdf import StopReason
from casework.identifiers import patient_ref
from cdf_service.domain.sact_records import rows_of
from cdf_service.domain.sact_rows import Administration, DrugDictionary
from cdf_service.domain.sact_validator import RowValidator
from cdf_service.domain.stop_reasons import mask_of, reasons_of
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import SACT_V3, SACT_V4, HeaderError, Role, SactSchema
from cdf_service.synthetic.national import TrustPlan, build_trust, seed_entries
from cdf_service.synthetic.sact_files import write_sact_csv

TODAY = date(2026, 11, 20)
DRUGS = DrugDictionary.build(reference_drugs(), {e.drug_name: e.dmd_ids for e in seed_entries().values()})


def _rows(schema: SactSchema) -> list[list[str]]:
    rng = random.Random(3)
    plan = TrustPlan(cdf_patients=30, routine_patients=60, as_of=TODAY - timedelta(days=1))
    buffer = io.StringIO()
    write_sact_csv(buffer, build_trust("RGT", plan, rng).courses, plan.as_of, rng, schema=schema)
    return list(rows_of(buffer.getvalue().split("\n", 1)[1].encode()))


ROWS = {4: _rows(SACT_V4), 3: _rows(SACT_V3)}
VALIDATORS = {v: RowValidator(s, s.headers, "RGT", DRUGS, "key", TODAY) for v, s in ((4, SACT_V4), (3, SACT_V3))}
V4, V3 = VALIDATORS[4], VALIDATORS[3]


def cell(schema: SactSchema, number: int) -> int:
    return schema.headers.index(schema.by_number[number].header)


def row_where(version: int, **cells: str) -> list[str]:
    """A copy of the first generated row whose items (item_83="3", ...) have these values ("?": any)."""
    schema = VALIDATORS[version].schema
    wanted = {cell(schema, int(key.removeprefix("item_"))): value for key, value in cells.items()}
    for row in ROWS[version]:
        if all((row[i] != "") if v == "?" else row[i] == v for i, v in wanted.items()):
            return row.copy()
    raise AssertionError(f"no generated row with {cells}")


def with_items(row: list[str], version: int, **values: str) -> list[str]:
    schema = VALIDATORS[version].schema
    for key, value in values.items():
        row[cell(schema, int(key.removeprefix("item_")))] = value
    return row


@pytest.mark.parametrize("version", [4, 3])
def test_generated_rows_are_all_accepted_with_their_facts(version: int) -> None:
    validator = VALIDATORS[version]
    records = [validator.validate(row) for row in ROWS[version]]
    assert records and all(isinstance(r, Administration) for r in records), [r for r in records if type(r) is list]
    first = records[0]
    assert isinstance(first, Administration)
    assert first.provider_ods == "RGT" and len(first.patient_ref) == 64


@pytest.mark.parametrize("key", ["key", "k" * 64, "k" * 65, b"\xff" * 100])
def test_patient_ref_is_the_keyed_hmac_every_service_computes(key: str | bytes) -> None:
    validator = RowValidator(SACT_V4, SACT_V4.headers, "RGT", DRUGS, key, TODAY)
    for nhs_number in ("9434765919", "943 476 5919", "943-476-5919"):
        assert validator.patient_ref(nhs_number) == patient_ref(nhs_number, key)
    assert validator.patient_ref("9434765918") is None


def infusion_row() -> list[str]:
    return row_where(4, item_80="?", item_88="")


@pytest.mark.parametrize(
    ("version", "item", "value", "reason"),
    [
        (4, 1, "9990000019", "not a valid NHS number (Modulus 11)"),
        (4, 31, "Notarealumab", "unknown drug: 'Notarealumab' is not a known SACT drug name"),
        (4, 80, "2026-13-01T10:00:00", "not a date and time (YYYY-MM-DDThh:mm:ss): '2026-13-01T10:00:00'"),
        (4, 80, "2026-11-21T10:00:00", "is in the future"),
        (4, 26, "²", "must be a whole number 0-999"),
        (4, 9, "RRV", "must be RGT or one of its sites"),
        (4, 10, "lung", "not an ICD-10 code: 'lung'"),
        (4, 88, "9", "must be one or more of 1, 2, 3, 4, 5, 6, 7, 8, comma-separated"),
        (4, 88, "2,2", "must be one or more of 1, 2, 3, 4, 5, 6, 7, 8, comma-separated"),
        (4, 43, "", "is required"),
        (4, 43, "1", "must be one of 01, 02, 03, 04, 05, 06, 07, 08"),
        (4, 16, " ", "is required"),
        (4, 83, "0", "must be a whole number 1-99"),
        (4, 82, "x", "must be a whole number 1-999"),
        (4, 56, "26643007", "not a SNOMED CT id (Verhoeff check digit): '26643007'"),
        (4, 45, "x" * 36, "longer than 35 characters"),
        (4, 17, "tall", "not a number of at most 4 characters: 'tall'"),
        (4, 27, "", "is required (YYYY-MM-DD)"),
        (3, 34, "2026-02-30", "not a date (YYYY-MM-DD): '2026-02-30'"),
        (3, 37, "2000-01-01", "is before the start date of the regimen (stop before start)"),
        (3, 58, "9", "must be one of 1, 2, 3, 4, 5, 6"),
        (3, 47, "0", "must be one of 1, 2, 9, X"),
    ],
)
def test_each_rule_names_its_field(version: int, item: int, value: str, reason: str) -> None:
    validator = VALIDATORS[version]
    row = infusion_row() if version == 4 else ROWS[3][0].copy()
    row[cell(validator.schema, item)] = value
    assert validator.validate(row) == [(validator.schema.by_number[item].header, reason)]


def test_a_row_with_three_independent_problems_lists_all_three() -> None:
    row = with_items(infusion_row(), 4, item_1="9990000019", item_88="9", item_22="1900-01-01", item_2="1950-01-01")
    assert V4.validate(row) == [
        ("NHS_NUMBER", "not a valid NHS number (Modulus 11)"),
        ("END_OF_REGIMEN_SUMMARY", "must be one or more of 1, 2, 3, 4, 5, 6, 7, 8, comma-separated"),
        ("START_DATE_OF_REGIMEN", "is before the date of birth"),
    ]


def test_cross_field_checks_run_when_a_single_field_check_failed() -> None:
    # the row: a bad outcome code and a final treatment date before the regimen start
    row = with_items(ROWS[3][0].copy(), 3, item_58="9", item_37="2000-01-01")
    assert [p.field for p in V3.validate(row)] == [
        "REGIMEN_OUTCOME_SUMMARY_CURATIVE_NOT_COMPLETED_AS_PLANNED_REASON",
        "DATE_OF_FINAL_TREATMENT",
    ]
    # an unreadable date of birth does not hide the administration before the regimen start
    early = with_items(
        infusion_row(), 4, item_2="x", item_22="2026-11-19", item_27="2026-11-19", item_80="2026-11-18T10:00:00"
    )
    assert [p.field for p in V4.validate(early)] == ["PERSON_BIRTH_DATE", "ADMINISTRATION_TIMESTAMP_INFUSION"]


def test_an_oral_drug_is_dispensed_on_item_81_and_an_infusion_given_on_item_80s_day() -> None:
    oral = V4.validate(row_where(4, item_81="?"))
    infused = V4.validate(infusion_row())
    assert isinstance(oral, Administration) and isinstance(infused, Administration)
    assert oral.dispensed and not infused.dispensed
    assert infused.administration_date.isoformat() == infusion_row()[cell(SACT_V4, 80)][:10]


def test_one_of_items_80_and_81_exactly() -> None:
    both = with_items(infusion_row(), 4, item_81="2026-11-02")
    neither = with_items(infusion_row(), 4, item_80="")
    choice = "ADMINISTRATION_TIMESTAMP_INFUSION or ADMINISTRATION_DATE_ORAL_DRUG_DISPENSED"
    assert V4.validate(both) == [(choice, "give one of items 80 (infusion) and 81 (oral, dispensed), not both")]
    assert V4.validate(neither) == [(choice, "one of items 80 (infusion) and 81 (oral, dispensed) is required")]
    lines = with_items(infusion_row(), 4, item_66="1", item_67="2")
    assert V4.validate(lines) == [
        (
            "CURATIVE_LINE_OF_TREATMENT or NON_CURATIVE_LINE_OF_TREATMENT",
            "give one of items 66 and 67 (line of treatment), not both",
        )
    ]


def test_a_row_of_several_cycles_needs_their_cycle_length() -> None:
    pack = row_where(4, item_83="3")
    accepted = V4.validate(pack)
    assert isinstance(accepted, Administration) and (accepted.cycles, accepted.cycle_length_days) == (3, 28)
    assert V4.validate(with_items(pack, 4, item_82="")) == [
        ("NUMBER_OF_CYCLES_ADMINISTERED_ON_A_NAMED_DAY", "covers 3 cycles: give item 82 (cycle length) to date them")
    ]


@pytest.mark.parametrize(
    ("codes", "reasons"),
    [
        ("5", [StopReason.ORGANISATION]),
        ("7", [StopReason.DEATH]),
        ("1,3", [StopReason.COMPLETED, StopReason.TOXICITY]),
        ("3, 2", [StopReason.PROGRESSION, StopReason.TOXICITY]),
    ],
)
def test_end_of_regimen_summary_gives_every_reason_and_ends_the_regimen_there(
    codes: str, reasons: list[StopReason]
) -> None:
    row = with_items(infusion_row(), 4, item_88=codes)
    record = V4.validate(row)
    assert isinstance(record, Administration)
    assert reasons_of(record.stop_reasons) == reasons
    assert record.final_treatment_date == record.administration_date


def test_v3_outcomes_map_to_the_same_reasons() -> None:
    died = V3.validate(
        with_items(ROWS[3][0].copy(), 3, item_57="N", item_58="5", item_37=ROWS[3][0][cell(SACT_V3, 34)])
    )
    completed = V3.validate(with_items(ROWS[3][0].copy(), 3, item_57="Y", item_58=""))
    assert isinstance(died, Administration) and isinstance(completed, Administration)
    assert died.stop_reasons == mask_of([StopReason.DEATH]) and died.final_treatment_date is not None
    assert completed.stop_reasons == mask_of([StopReason.COMPLETED]) and completed.final_treatment_date is None


def test_a_row_of_the_wrong_width_is_one_problem() -> None:
    width = len(SACT_V4.headers)
    assert V4.validate(infusion_row()[:-1]) == [("row", f"has {width - 1} fields, the header has {width}")]


def test_a_header_that_is_not_the_versions_is_refused() -> None:
    with pytest.raises(HeaderError):
        RowValidator(SACT_V4, [h for h in SACT_V4.headers if h != "DRUG_NAME"], "RGT", DRUGS, "k", TODAY)


def test_a_file_may_leave_out_optional_columns() -> None:
    headers = [
        *SACT_V4.mandatory_headers,
        "PRIMARY_DIAGNOSIS_ICD_10",
        "NON_CURATIVE_LINE_OF_TREATMENT",
        "ADMINISTRATION_DATE_ORAL_DRUG_DISPENSED",
    ]
    validator = RowValidator(SACT_V4, headers, "RGT", DRUGS, "k", TODAY)
    source = row_where(4, item_81="?", item_67="?")
    row = [source[SACT_V4.headers.index(h)] for h in headers]
    record = validator.validate(row)
    assert isinstance(record, Administration) and record.dispensed and record.cycles == 1


MUTATIONS = st.sampled_from(
    [
        "",
        " ",
        "x",
        "0",
        "1",
        "3",
        "9",
        "01",
        "²",
        "1000",
        "1,3",
        "2,2",
        "Y",
        "2026-02-30",
        "2026-11-19",
        "2026-11-21",
        "1900-01-01",
        "2026-11-19T09:15:00",
        "2026-11-21T09:15:00",
        "C34.1",
        "RGT",
        "rgt01",
        "26643006",
    ]
)
ITEMS = st.sampled_from([4, 3]).flatmap(
    lambda v: st.tuples(
        st.just(v),
        st.sampled_from(ROWS[v]),
        st.dictionaries(st.sampled_from(range(len(VALIDATORS[v].schema.headers))), MUTATIONS, max_size=3),
    )
)


@settings(max_examples=600, deadline=None)
@given(case=ITEMS)
def test_the_fast_path_accepts_exactly_what_the_full_check_accepts(case: tuple[int, list[str], dict[int, str]]) -> None:
    version, row, changes = case
    validator = RowValidator(VALIDATORS[version].schema, VALIDATORS[version].schema.headers, "RGT", DRUGS, "k", TODAY)
    mutated = row.copy()
    for index, value in changes.items():
        mutated[index] = value
    validator.accept(row)  # caches filled by a good row of the same regimen (and drug) first
    for _ in range(2):  # and the second time from the caches the first one filled
        fast = validator.accept(mutated)
        full = validator.problems(mutated)
        assert (fast is not None) == isinstance(full, Administration), (fast, full)
        if fast is not None:
            assert fast == full


def test_roles_read_by_the_rules_are_items_of_both_versions() -> None:
    for schema in (SACT_V4, SACT_V3):
        assert {Role.NHS_NUMBER, Role.REGIMEN_START, Role.CYCLE_NUMBER, Role.DRUG_NAME} <= set(schema.by_role)


@pytest.mark.parametrize("version", [4, 3])
def test_only_a_listed_drugs_row_keeps_the_nhs_number(version: int) -> None:
    """An unapproved use names the patient to the trust; no other row keeps the number (both paths)."""
    validator, nhs = VALIDATORS[version], cell(VALIDATORS[version].schema, 1)
    listed = unlisted = 0
    for row in ROWS[version]:
        for record in (validator.validate(row), validator.problems(row)):
            assert isinstance(record, Administration)
            if record.listed:
                assert record.nhs_number == row[nhs].replace(" ", "") and len(record.nhs_number) == 10
                listed += 1
            else:
                assert record.nhs_number is None
                unlisted += 1
    assert listed and unlisted
