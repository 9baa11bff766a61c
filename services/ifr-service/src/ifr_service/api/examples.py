"""Examples shown in the OpenAPI document (test data: a 999 NHS number, valid check digits)."""

from typing import Any

APPLICATION_EXAMPLE: dict[str, Any] = {
    "patient": {
        "nhs_number": "9990000018",
        "name": "Alex Example",
        "date_of_birth": "1970-02-01",
        "sex": "female",
        "gp_practice": "A81001 Example Surgery",
    },
    "clinician": {
        "name": "Dr Sam Consultant",
        "role": "Consultant rheumatologist",
        "registration_number": "1234567",
        "email": "sam.consultant@nhs.net",
        "trust_ods": "RRV",
    },
    "treatment": {
        "name": "Examplimab",
        "dmd_code": "3762811000001103",
        "dose": "200 mg",
        "route": "intravenous",
        "frequency": "every 3 weeks",
        "planned_duration": "6 months",
        "cost_per_course": "2500.00",
        "total_cost": "15000.00",
        "setting": "day case",
    },
    "clinical": {
        "diagnosis": "Rare vasculitis",
        "diagnosis_icd10": "M31.8",
        "stage": "relapsing",
        "relevant_history": "Diagnosed 2019.",
        "current_condition": "Active disease despite therapy.",
        "previous_treatments": [{"treatment": "Rituximab", "outcome": "no response after 2 courses"}],
        "standard_options_unsuitable": "Contraindicated because of renal impairment.",
    },
    "case": {
        "exceptionality": "A genetic variant seen in under 1 in 10,000 patients.",
        "expected_benefit": "Remission within 12 weeks.",
        "outcome_measures": "BVAS score at 12 and 24 weeks.",
        "start_criteria": "BVAS above 15.",
        "stop_criteria": "No fall in BVAS by 12 weeks.",
        "evidence": "Case series (n=12).",
        "other_patients_similar": False,
    },
    "urgency": "routine",
    "part_of_trial": False,
    "patient_consent": True,
    "chief_pharmacist_support": True,
}

# PATCH of a draft: sections merged field by field (here a changed dose and the trial question answered)
DRAFT_CHANGES_EXAMPLE: dict[str, Any] = {
    "treatment": {"dose": "300 mg", "total_cost": "18000.00"},
    "part_of_trial": False,
}
