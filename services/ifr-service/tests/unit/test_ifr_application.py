"""The application form: formats on every value, completeness at submission, mail fields."""

import copy

import pytest
from ifr_samples import COMPLETE
from pydantic import ValidationError

from ifr_service.domain.application import MAIL_FIELDS, Application, from_mail, merge, missing_for_submission


def test_complete_application_has_no_problems() -> None:
    assert missing_for_submission(Application.model_validate(COMPLETE)) == []


def test_an_empty_draft_names_every_required_field() -> None:
    problems = missing_for_submission(Application())
    fields = {p["field"] for p in problems}
    assert {"patient.nhs_number", "clinician.email", "case.exceptionality", "patient_consent"} <= fields
    assert "treatment.dmd_code" in fields  # a dm+d or OPCS-4 code is required


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("patient", "nhs_number"), "9990000019"),  # Modulus 11 fails
        (("treatment", "dmd_code"), "3762811000001104"),  # Verhoeff fails
        (("treatment", "opcs4_code"), "X7"),
        (("clinical", "diagnosis_icd10"), "U07.1"),
        (("clinician", "trust_ods"), "R"),
        (("clinician", "email"), "not-an-address"),
        (("treatment", "total_cost"), "-1"),
        (("patient", "date_of_birth"), "2999-01-01"),
    ],
)
def test_malformed_values_are_refused_even_in_a_draft(path: tuple[str, str], value: str) -> None:
    data = copy.deepcopy(COMPLETE)
    data[path[0]][path[1]] = value
    with pytest.raises(ValidationError) as caught:
        Application.model_validate(data)
    assert tuple(caught.value.errors()[0]["loc"][:2]) == path


def test_cross_field_rules() -> None:
    data = copy.deepcopy(COMPLETE)
    data["urgency"] = "urgent"
    data["patient_consent"] = False
    data["clinician"]["email"] = "sam@example.com"
    data["treatment"]["total_cost"] = "100.00"
    del data["treatment"]["route"]
    problems = {p["field"]: p["message"] for p in missing_for_submission(Application.model_validate(data))}
    assert set(problems) == {
        "urgency_reason",
        "patient_consent",
        "clinician.email",
        "treatment.total_cost",
        "treatment.route",
    }


def test_a_procedure_needs_no_drug_fields() -> None:
    data = copy.deepcopy(COMPLETE)
    data["treatment"] = {k: v for k, v in data["treatment"].items() if k not in {"dmd_code", "dose", "route"}}
    data["treatment"]["opcs4_code"] = "X72.1"
    del data["chief_pharmacist_support"]
    assert missing_for_submission(Application.model_validate(data)) == []


def test_merge_keeps_fields_not_given() -> None:
    draft = Application.model_validate({"patient": {"name": "Alex Example"}})
    merged = merge(draft, {"patient": {"nhs_number": "9990000018"}, "urgency": "urgent"})
    assert (merged.patient.name, merged.patient.nhs_number, merged.urgency) == ("Alex Example", "9990000018", "urgent")


def test_mail_fields_map_to_the_form_and_bad_values_become_problems() -> None:
    fields = {
        "nhs_number": "999 000 0018",
        "patient_name": "Alex Example",
        "date_of_birth": "01/02/1970",
        "sex": "F",
        "trust_ods_code": "rrv",
        "dmd_code": "12345",  # not a dm+d id
        "total_cost": "£15,000.00",
        "diagnosis_icd10": "M31.8",
        "urgency": "Urgent",
        "patient_consent": "yes",
        "previous_treatments": "Rituximab: no response",
        "unknown_key": "ignored",
    }
    application, problems = from_mail(fields)
    assert application.patient.nhs_number == "9990000018"
    assert str(application.patient.date_of_birth) == "1970-02-01"
    assert application.patient.sex == "female"
    assert application.clinician.trust_ods == "RRV"
    assert str(application.treatment.total_cost) == "15000.00"
    assert application.urgent and application.patient_consent is True
    assert application.treatment.dmd_code is None
    assert [p.split(":")[0] for p in problems] == ["treatment.dmd_code"]
    assert "12345" not in problems[0]


def test_every_mail_field_of_the_contract_is_mapped() -> None:
    contract = (
        "nhs_number patient_name date_of_birth sex gp_practice clinician_name clinician_role registration_number "
        "clinician_email trust_ods_code treatment_name dmd_code opcs4_code dose route frequency planned_duration "
        "setting cost_per_course total_cost diagnosis diagnosis_icd10 stage relevant_history current_condition "
        "previous_treatments standard_options_unsuitable case_for_exceptionality expected_benefit outcome_measures "
        "start_criteria stop_criteria evidence other_patients_similar urgency urgency_reason part_of_trial "
        "patient_consent chief_pharmacist_support"
    ).split()
    assert sorted(MAIL_FIELDS) == sorted(contract)
