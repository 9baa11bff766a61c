"""SACT v3.0: the standard from September 2019; accepted beside v4.0 (trusts moved over during 2026).

Items 1-43 keep the numbers of the 2014 data set (42 items, then 43 with item 43 NHS Number Status
Indicator Code added that year); items 44-61 came with v3.0. The v3.0 user guide is not among the
stored copies: the numbers and names below are those the v4.0 user guide names as removed or kept,
and the v3.0 outcome code lists are reconstructed (each such item says so in its note).
"""

from __future__ import annotations

from datetime import date
from functools import partial

from casework.events.catalogue.cdf import StopReason
from cdf_service.sact_schema import common
from cdf_service.sact_schema.common import DATE_FORMAT, clinical, cycle, drug, outcome, regimen
from cdf_service.sact_schema.items import DataItem, ItemType, Role, SactSchema, numbered
from cdf_service.sact_schema.v4 import INTENT, NHS_NUMBER_STATUS, STATED_GENDER

T = ItemType
RECONSTRUCTED = "reconstructed: the v3.0 code list is not among the stored copies"
YES_NO = {"Y": "Yes", "N": "No"}
NOT_COMPLETED_REASON = numbered(
    ("Patient choice", "Organisation issues", "Acute toxicity", "Disease progression", "Patient died", "Other")
)
NOT_COMPLETED_STOPS = dict(
    zip(
        NOT_COMPLETED_REASON,
        (
            StopReason.PATIENT_CHOICE,
            StopReason.ORGANISATION,
            StopReason.TOXICITY,
            StopReason.PROGRESSION,
            StopReason.DEATH,
            StopReason.OTHER,
        ),
        strict=True,
    )
)
patient = partial(DataItem, section="patient and provider")


def _date(number: int, name: str, section: partial[DataItem], **more: object) -> DataItem:
    return section(number, name, type=T.DATE, format=DATE_FORMAT, max_length=10, **more)


ITEMS = (
    patient(
        1,
        "NHS Number",
        type=T.NHS_NUMBER,
        format="n10",
        specification="M",
        max_length=10,
        mandatory=True,
        role=Role.NHS_NUMBER,
    ),
    patient(
        43,
        "NHS Number Status Indicator Code",
        type=T.CODE,
        format="an2",
        specification="R",
        max_length=2,
        codes=NHS_NUMBER_STATUS,
    ),
    patient(44, "Local Patient Identifier", type=T.TEXT, format="max an20", specification="R", max_length=20),
    _date(2, "Person Birth Date", patient, specification="M", mandatory=True, role=Role.BIRTH_DATE),
    patient(45, "Person Family Name", type=T.TEXT, format="max an35", specification="R", max_length=35),
    patient(46, "Person Given Name", type=T.TEXT, format="max an35", specification="R", max_length=35),
    patient(
        47, "Person Stated Gender Code", type=T.CODE, format="an1", specification="R", max_length=1, codes=STATED_GENDER
    ),
    patient(5, "Patient Postcode", type=T.TEXT, format="max an8", specification="R", max_length=8),
    patient(
        6,
        "General Medical Practice Code (Patient Registration)",
        type=T.TEXT,
        format="an6",
        specification="R",
        max_length=6,
    ),
    patient(7, "Consultant GMC Code", type=T.TEXT, format="an8", specification="R", max_length=8),
    patient(8, "Consultant Specialty Code", type=T.CODE, format="an3", specification="R", max_length=3),
    patient(
        9,
        "Organisation Identifier (Code of Provider)",
        type=T.ODS_CODE,
        format="min an3 max an5",
        specification="M",
        max_length=5,
        mandatory=True,
        role=Role.PROVIDER,
    ),
    clinical(
        10, "Primary Diagnosis (ICD)", type=T.ICD10_CODE, format="min an4 max an6", specification="R", max_length=6
    ),
    clinical(11, "Morphology (ICD-O)", type=T.TEXT, format="min an5 max an7", specification="R", max_length=7),
    common.DIAGNOSIS_SNOMED,
    clinical(
        12,
        "TNM Stage Grouping (Final Pretreatment)",
        type=T.TEXT,
        format="max an15",
        specification="R",
        max_length=15,
        note="named so since April 2014 (was TNM Category (Final Pretreatment))",
    ),
    regimen(49, "Adjunctive Therapy", type=T.CODE, format="an1", specification="R", max_length=1),
    regimen(15, "Intent of Treatment", type=T.CODE, format="an2", specification="R", max_length=2, codes=INTENT),
    common.REGIMEN,
    regimen(17, "Height at Start of Regimen", type=T.DECIMAL, format="n1.max n2", specification="R", max_length=4),
    common.WEIGHT_AT_START_OF_REGIMEN,
    common.PERFORMANCE_STATUS_AT_START_OF_REGIMEN,
    regimen(20, "Co-Morbidity Adjustment", type=T.CODE, format="an1", specification="R", max_length=1),
    common.DATE_DECISION_TO_TREAT,
    common.START_DATE_OF_REGIMEN,
    regimen(23, "Clinical Trial", type=T.CODE, format="an2", specification="R", max_length=2),
    regimen(24, "Chemoradiation", type=T.CODE, format="an1", specification="R", max_length=1),
    cycle(
        26,
        "Cycle Number",
        type=T.INTEGER,
        format="max n3",
        specification="R",
        max_length=3,
        mandatory=True,
        role=Role.CYCLE_NUMBER,
        limits=(0, 999),
        note="required by this service (cycle counts); 'Required' in v3.0, mandatory from v4.0",
    ),
    _date(
        27,
        "Start Date of Cycle",
        cycle,
        specification="R",
        role=Role.CYCLE_START,
        note="the administration date when empty",
    ),
    common.WEIGHT_AT_START_OF_CYCLE,
    common.PERFORMANCE_STATUS_AT_START_OF_CYCLE,
    common.DRUG_NAME,
    drug(32, "Actual Dose per Administration", type=T.DECIMAL, format="max n8", specification="R", max_length=8),
    drug(53, "Administration Measurement per Actual Dose", type=T.CODE, format="an2", specification="R", max_length=2),
    drug(
        54,
        "Other - Administration Measurement per Actual Dose",
        type=T.TEXT,
        format="max an15",
        specification="R",
        max_length=15,
    ),
    common.UNIT_OF_MEASUREMENT,
    drug(33, "SACT Administration Route", type=T.CODE, format="an2", specification="R", max_length=2),
    common.ROUTE_OF_ADMINISTRATION,
    _date(
        34,
        "Administration Date",
        drug,
        specification="R",
        mandatory=True,
        role=Role.ADMINISTERED,
        note="required by this service; for an oral drug, the date it was dispensed",
    ),
    common.ORGANISATION_OF_ADMINISTRATION,
    _date(37, "Date of Final Treatment", outcome, specification="R", role=Role.FINAL_TREATMENT),
    outcome(38, "Regimen Modification - Dose Reduction", type=T.CODE, format="an1", specification="R", max_length=1),
    outcome(39, "Regimen Modification - Time Delay", type=T.CODE, format="an1", specification="R", max_length=1),
    outcome(40, "Regimen Modification - Stopped Early", type=T.CODE, format="an1", specification="R", max_length=1),
    outcome(
        57,
        "Regimen Outcome Summary - Curative (Completed as Planned)",
        type=T.CODE,
        format="an1",
        specification="R",
        max_length=1,
        codes=YES_NO,
        reasons={"Y": StopReason.COMPLETED},
        note=RECONSTRUCTED,
    ),
    outcome(
        58,
        "Regimen Outcome Summary - Curative (Not Completed as Planned) Reason",
        type=T.CODE,
        format="an1",
        specification="R",
        max_length=1,
        codes=NOT_COMPLETED_REASON,
        reasons=NOT_COMPLETED_STOPS,
        note=RECONSTRUCTED,
    ),
    outcome(
        59,
        "Other - Regimen Outcome Summary - Curative (Not Completed as Planned) Reason",
        type=T.TEXT,
        format="max an50",
        specification="R",
        max_length=50,
    ),
    outcome(60, "Regimen Outcome Summary - Non-Curative", type=T.CODE, format="an1", specification="R", max_length=1),
    outcome(61, "Regimen Outcome Summary - Toxicity", type=T.CODE, format="an1", specification="R", max_length=1),
    _date(42, "Date of Death", outcome, specification="R"),
)

SACT_V3 = SactSchema(
    version=3,
    title="SACT v3.0",
    collected_from=date(2019, 9, 1),
    source="SACT v2.0 (2014) item numbers and the SACT user guide v4.0.1's lists of items removed since v3.0",
    items=ITEMS,
)
