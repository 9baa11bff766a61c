"""The SACT schemas (v4.0, v3.0): national items, version detection from a header, the README's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.events.catalogue.cdf import StopReason
from cdf_service.db.models import SactProblem
from cdf_service.sact_schema import (
    SACT_V3,
    SACT_V4,
    SCHEMAS,
    HeaderError,
    ItemType,
    detect,
    detect_keys,
    header_problems,
    header_text,
    read_header,
    schema_for,
)
from cdf_service.sact_schema.docs import readme_section

README = Path(__file__).parents[2] / "README.md"
# The header of the file this service read before SACT versions (v2 names plus two v3.0 items).
V2_STYLE = (
    "NHS_NUMBER,DATE_OF_BIRTH,GENDER_CURRENT,ETHNICITY,PATIENT_POSTCODE,REGISTERED_GP_PRACTICE_CODE,"
    "CONSULTANT_GMC_CODE,CONSULTANT_SPECIALITY_CODE,ORGANISATION_CODE_OF_PROVIDER,PRIMARY_DIAGNOSIS,MORPHOLOGY,"
    "STAGE_OF_DISEASE,PROGRAMME_NUMBER,REGIMEN_NUMBER,INTENT_OF_TREATMENT,REGIMEN,START_DATE_OF_REGIMEN,"
    "CYCLE_NUMBER,START_DATE_OF_CYCLE,DRUG_NAME,DRUG_DM_D_CODE,ADMINISTRATION_DATE,DATE_OF_FINAL_TREATMENT,"
    "REGIMEN_OUTCOME_SUMMARY"
).split(",")


def test_v4_items_carry_their_national_numbers_names_and_what_is_mandatory() -> None:
    item = SACT_V4.by_number
    assert (item[16].name, item[22].name, item[26].name, item[27].name) == (
        "Regimen",
        "Start Date of Regimen",
        "Cycle Number",
        "Start Date of Cycle",
    )
    assert all(item[n].mandatory for n in (1, 2, 9, 16, 22, 26, 27, 31, 43))
    assert item[80].type is ItemType.TIMESTAMP and item[81].type is ItemType.DATE
    assert (item[82].name, item[83].name) == ("Cycle Length in Days", "Number Of Cycles Administered (On A Named Day)")
    assert [c.items for c in SACT_V4.choices if c.exactly_one] == [(66, 67), (80, 81)]
    assert 20 not in item and 34 not in item and 37 not in item  # co-morbidity adjustment and v3.0 dates: gone
    assert item[17].name == "Height at Start of Treatment" and item[50].name.endswith("- Adult")


def test_end_of_regimen_summary_codes_are_the_national_ones_in_order() -> None:
    summary = SACT_V4.by_number[88]
    assert summary.type is ItemType.CODES and list(summary.codes or {}) == [str(n) for n in range(1, 9)]
    assert summary.reasons == dict(zip("12345678", StopReason, strict=True))
    assert summary.reasons["5"] is StopReason.ORGANISATION and summary.reasons["7"] is StopReason.DEATH


def test_v3_keeps_the_2014_numbers_and_maps_its_own_outcome_codes() -> None:
    item = SACT_V3.by_number
    assert (item[34].name, item[37].name, item[42].name) == (
        "Administration Date",
        "Date of Final Treatment",
        "Date of Death",
    )
    assert item[12].name == "TNM Stage Grouping (Final Pretreatment)" and 43 in item
    assert (item[57].reasons or {})["Y"] is StopReason.COMPLETED
    assert set((item[58].reasons or {}).values()) >= {StopReason.DEATH, StopReason.PROGRESSION}


def test_headers_are_item_names_in_upper_snake_case_and_uploads_are_read_the_same_way() -> None:
    assert header_text("Organisation Identifier (Code of Provider)") == "ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER"
    assert read_header([" Start date of regimen ", "nhs-number"]) == ["START_DATE_OF_REGIMEN", "NHS_NUMBER"]
    assert len(set(SACT_V4.headers)) == len(SACT_V4.items)


@pytest.mark.parametrize("schema", [SACT_V4, SACT_V3], ids=["v4", "v3"])
def test_a_full_header_is_its_own_version(schema) -> None:  # type: ignore[no-untyped-def]
    assert detect(list(schema.headers)) is schema
    assert detect(list(reversed(schema.headers)), declared=schema.version) is schema  # order is free


def test_the_mandatory_items_alone_make_a_v4_header() -> None:
    columns = [*SACT_V4.mandatory_headers, *SACT_V4.choice_headers(SACT_V4.choices[0])[:1]]
    columns += [SACT_V4.by_number[67].header, SACT_V4.by_number[81].header]
    assert detect(columns) is SACT_V4


def test_a_v2_style_header_is_refused_naming_its_columns_against_the_closest_version() -> None:
    with pytest.raises(HeaderError) as refused:
        detect(V2_STYLE)
    problems = {p.field: p.reason for p in refused.value.problems}
    assert refused.value.expected is SACT_V3  # its ADMINISTRATION_DATE and DATE_OF_FINAL_TREATMENT are v3.0's
    unknown = {field for field, reason in problems.items() if reason.startswith("unknown column")}
    assert unknown == {
        "DATE_OF_BIRTH",
        "GENDER_CURRENT",
        "ETHNICITY",
        "REGISTERED_GP_PRACTICE_CODE",
        "CONSULTANT_SPECIALITY_CODE",
        "ORGANISATION_CODE_OF_PROVIDER",
        "PRIMARY_DIAGNOSIS",
        "MORPHOLOGY",
        "STAGE_OF_DISEASE",
        "PROGRAMME_NUMBER",
        "REGIMEN_NUMBER",
        "DRUG_DM_D_CODE",
        "REGIMEN_OUTCOME_SUMMARY",
    }
    assert problems["PERSON_BIRTH_DATE"] == "column missing from the header"
    assert "NHS_NUMBER" not in problems and "REGIMEN" not in problems  # the columns v3.0 shares are fine
    with pytest.raises(HeaderError) as as_v4:
        detect(V2_STYLE, declared=4)
    assert as_v4.value.expected is SACT_V4
    assert ("ADMINISTRATION_DATE", "unknown column (not a SACT v4.0 data item)") in as_v4.value.problems


def test_an_unknown_column_in_an_otherwise_v3_file_is_named_against_v3() -> None:
    with pytest.raises(HeaderError) as refused:
        detect([*SACT_V3.headers, "SHOE_SIZE"])
    assert refused.value.expected is SACT_V3
    assert refused.value.problems == [("SHOE_SIZE", "unknown column (not a SACT v3.0 data item)")]


def test_a_declared_version_is_checked_as_declared() -> None:
    with pytest.raises(HeaderError) as refused:
        detect(list(SACT_V3.headers), declared=4)
    fields = {p.field for p in refused.value.problems}
    assert refused.value.expected is SACT_V4 and "ADMINISTRATION_DATE" in fields
    choice = " or ".join(SACT_V4.choice_headers(SACT_V4.choices[2]))
    assert choice in fields  # neither of items 80 and 81


def test_missing_twice_and_choice_problems_of_a_header() -> None:
    columns = [h for h in SACT_V4.headers if h != "CYCLE_NUMBER"] + ["REGIMEN"]
    assert header_problems(SACT_V4, columns) == [
        ("CYCLE_NUMBER", "column missing from the header"),
        ("REGIMEN", "column appears twice"),
    ]


def test_json_keys_pick_the_version_that_knows_them_all() -> None:
    assert detect_keys(["NHS_NUMBER", "ADMINISTRATION_DATE"]) is SACT_V3
    assert detect_keys(["NHS_NUMBER", "END_OF_REGIMEN_SUMMARY"]) is SACT_V4
    assert detect_keys(["NHS_NUMBER"]) is SACT_V4  # common to both: the current version
    with pytest.raises(HeaderError) as refused:
        detect_keys(["NHS_NUMBER", "SHOE_SIZE"], declared=3)
    assert refused.value.problems == [("SHOE_SIZE", "unknown key (not a SACT v3.0 data item)")]


@pytest.mark.parametrize(("text", "version"), [("4", 4), ("4.0", 4), ("v4", 4), ("V3.0", 3), (3, 3), ("2", None)])
def test_versions_are_named_several_ways(text: str | int, version: int | None) -> None:
    found = schema_for(text)
    assert (found.version if found else None) == version


def test_the_readme_shows_the_generated_item_tables() -> None:
    assert readme_section() in README.read_text(encoding="utf-8")


def test_every_item_header_fits_the_problem_field_it_is_reported_in() -> None:
    """A problem names its column: a header longer than sact_problems.field would fail the submission."""
    width = SactProblem.__table__.c.field.type.length
    for schema in SCHEMAS.values():
        assert max(len(header) for header in schema.headers) <= width, schema.title
