"""The data items v4.0 and v3.0 share unchanged (number, name, format, what is mandatory): defined once."""

from __future__ import annotations

from cdf_service.sact_schema.items import DataItem, ItemType, Role

T = ItemType
DATE_FORMAT = "an10 ccyy-mm-dd"
SNOMED_FORMAT = "min n6 max n18"

DIAGNOSIS_SNOMED = DataItem(
    48, "Diagnosis Code (SNOMED CT)", "clinical status", T.SNOMED_CT_ID, SNOMED_FORMAT, "R", max_length=18
)
REGIMEN = DataItem(
    16, "Regimen", "regimen", T.TEXT, "max an150", "M", max_length=150, mandatory=True, role=Role.REGIMEN
)
WEIGHT_AT_START_OF_REGIMEN = DataItem(
    18, "Weight at Start of Regimen", "regimen", T.DECIMAL, "max n3.max n3", "R", max_length=7
)
PERFORMANCE_STATUS_AT_START_OF_REGIMEN = DataItem(
    50, "Performance Status at Start of Regimen - Adult", "regimen", T.CODE, "an1", "R", max_length=1
)
DATE_DECISION_TO_TREAT = DataItem(21, "Date Decision to Treat", "regimen", T.DATE, DATE_FORMAT, "R", max_length=10)
START_DATE_OF_REGIMEN = DataItem(
    22,
    "Start Date of Regimen",
    "regimen",
    T.DATE,
    DATE_FORMAT,
    "M",
    max_length=10,
    mandatory=True,
    role=Role.REGIMEN_START,
)
WEIGHT_AT_START_OF_CYCLE = DataItem(
    28, "Weight at Start of Cycle", "cycle", T.DECIMAL, "max n3.max n3", "R", max_length=7
)
PERFORMANCE_STATUS_AT_START_OF_CYCLE = DataItem(
    51, "Performance Status at Start of Cycle - Adult", "cycle", T.CODE, "an1", "R", max_length=1
)
DRUG_NAME = DataItem(
    31, "Drug Name", "drug details", T.TEXT, "max an55", "M", max_length=55, mandatory=True, role=Role.DRUG_NAME
)
UNIT_OF_MEASUREMENT = DataItem(
    55, "Unit of Measurement (SNOMED CT DM+D)", "drug details", T.SNOMED_CT_ID, SNOMED_FORMAT, "R", max_length=18
)
ROUTE_OF_ADMINISTRATION = DataItem(
    56, "Route of Administration (SNOMED CT DM+D)", "drug details", T.SNOMED_CT_ID, SNOMED_FORMAT, "R", max_length=18
)
ORGANISATION_OF_ADMINISTRATION = DataItem(
    35,
    "Organisation Identifier of SACT Administration",
    "drug details",
    T.ODS_CODE,
    "min an3 max an5",
    "R",
    max_length=5,
)
