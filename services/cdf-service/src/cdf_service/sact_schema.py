"""The national SACT data set as this service reads and writes it: one schema for parser and generator.

One CSV row is one drug administration, with the patient, regimen, cycle and outcome items repeated
on each row (the flat file trusts extract). Field names follow the national data items, grouped as
the data set groups them (SACT v2.0: 42 items; the dm+d code and dose unit come from v3.0).
`REQUIRED` are the items the CDF cannot do without; every other column may be empty.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

PATIENT_AND_PROVIDER: Final = (
    "NHS_NUMBER",
    "DATE_OF_BIRTH",
    "GENDER_CURRENT",
    "ETHNICITY",
    "PATIENT_POSTCODE",
    "REGISTERED_GP_PRACTICE_CODE",
    "CONSULTANT_GMC_CODE",
    "CONSULTANT_SPECIALITY_CODE",
    "ORGANISATION_CODE_OF_PROVIDER",
)
CLINICAL_STATUS: Final = ("PRIMARY_DIAGNOSIS", "MORPHOLOGY", "STAGE_OF_DISEASE")
REGIMEN_ITEMS: Final = (
    "PROGRAMME_NUMBER",
    "REGIMEN_NUMBER",
    "INTENT_OF_TREATMENT",
    "REGIMEN",
    "HEIGHT_AT_START_OF_REGIMEN",
    "WEIGHT_AT_START_OF_REGIMEN",
    "PERFORMANCE_STATUS_AT_START_OF_REGIMEN",
    "CO_MORBIDITY_ADJUSTMENT",
    "DATE_DECISION_TO_TREAT",
    "START_DATE_OF_REGIMEN",
    "CLINICAL_TRIAL",
    "CHEMO_RADIATION",
    "NUMBER_OF_CYCLES_PLANNED",
)
CYCLE_ITEMS: Final = (
    "CYCLE_NUMBER",
    "START_DATE_OF_CYCLE",
    "WEIGHT_AT_START_OF_CYCLE",
    "PERFORMANCE_STATUS_AT_START_OF_CYCLE",
    "OPCS_PROCUREMENT_CODE",
)
DRUG_ITEMS: Final = (
    "DRUG_NAME",
    "DRUG_DM_D_CODE",
    "ACTUAL_DOSE_PER_ADMINISTRATION",
    "DOSE_UNIT",
    "ADMINISTRATION_ROUTE",
    "ADMINISTRATION_DATE",
    "ORGANISATION_CODE_OF_DRUG_PROVIDER",
    "OPCS_DELIVERY_CODE",
)
OUTCOME_ITEMS: Final = (
    "DATE_OF_FINAL_TREATMENT",
    "REGIMEN_MODIFICATION_DOSE_REDUCTION",
    "REGIMEN_MODIFICATION_TIME_DELAY",
    "REGIMEN_MODIFICATION_STOPPED_EARLY",
    "REGIMEN_OUTCOME_SUMMARY",
    "DATE_OF_DEATH",
)

FIELDS: Final = (
    *PATIENT_AND_PROVIDER,
    *CLINICAL_STATUS,
    *REGIMEN_ITEMS,
    *CYCLE_ITEMS,
    *DRUG_ITEMS,
    *OUTCOME_ITEMS,
)
REQUIRED: Final = frozenset(
    {
        "NHS_NUMBER",
        "DATE_OF_BIRTH",
        "ORGANISATION_CODE_OF_PROVIDER",
        "REGIMEN",
        "START_DATE_OF_REGIMEN",
        "CYCLE_NUMBER",
        "DRUG_NAME",
        "ADMINISTRATION_DATE",
    }
)
DATE_FIELDS: Final = frozenset(
    {
        "DATE_OF_BIRTH",
        "DATE_DECISION_TO_TREAT",
        "START_DATE_OF_REGIMEN",
        "START_DATE_OF_CYCLE",
        "ADMINISTRATION_DATE",
        "DATE_OF_FINAL_TREATMENT",
        "DATE_OF_DEATH",
    }
)


class RegimenOutcome(StrEnum):
    """REGIMEN_OUTCOME_SUMMARY codes: why the regimen ended."""

    COMPLETED = "1"  # treatment completed as planned
    PROGRESSION = "2"  # stopped early: disease progression
    TOXICITY = "3"  # stopped early: toxicity
    PATIENT_CHOICE = "4"  # stopped early: patient choice
    DIED = "5"  # stopped early: patient died
    OTHER = "9"  # other or not known


OUTCOME_TEXT: Final = {
    RegimenOutcome.COMPLETED: "completed as planned",
    RegimenOutcome.PROGRESSION: "disease progression",
    RegimenOutcome.TOXICITY: "toxicity",
    RegimenOutcome.PATIENT_CHOICE: "patient choice",
    RegimenOutcome.DIED: "patient died",
    RegimenOutcome.OTHER: "other or not known",
}
GENDER_CODES: Final = frozenset({"0", "1", "2", "9", "X"})
INTENT_CODES: Final = frozenset({"A", "C", "D", "N", "P", "Z", "9"})  # adjuvant, curative, ... palliative
ROUTE_CODES: Final = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "98"})
YES_NO: Final = frozenset({"Y", "N", "9"})
