"""The data items v4.0 and v3.0 share unchanged (number, name, format, what is mandatory): defined once."""

from __future__ import annotations

from functools import partial

from cdf_service.sact_schema.items import DataItem, ItemType, Role

T = ItemType
DATE_FORMAT = "an10 ccyy-mm-dd"
SNOMED_FORMAT = "min n6 max n18"

# the sections both versions have (v4.0 splits v3.0's patient and provider section in two)
clinical = partial(DataItem, section="clinical status")
regimen = partial(DataItem, section="regimen")
cycle = partial(DataItem, section="cycle")
drug = partial(DataItem, section="drug details")
outcome = partial(DataItem, section="outcome")

DIAGNOSIS_SNOMED = clinical(
    48, "Diagnosis Code (SNOMED CT)", type=T.SNOMED_CT_ID, format=SNOMED_FORMAT, specification="R", max_length=18
)
REGIMEN = regimen(
    16, "Regimen", type=T.TEXT, format="max an150", specification="M", max_length=150, mandatory=True, role=Role.REGIMEN
)
WEIGHT_AT_START_OF_REGIMEN = regimen(
    18, "Weight at Start of Regimen", type=T.DECIMAL, format="max n3.max n3", specification="R", max_length=7
)
PERFORMANCE_STATUS_AT_START_OF_REGIMEN = regimen(
    50, "Performance Status at Start of Regimen - Adult", type=T.CODE, format="an1", specification="R", max_length=1
)
DATE_DECISION_TO_TREAT = regimen(
    21, "Date Decision to Treat", type=T.DATE, format=DATE_FORMAT, specification="R", max_length=10
)
START_DATE_OF_REGIMEN = regimen(
    22,
    "Start Date of Regimen",
    type=T.DATE,
    format=DATE_FORMAT,
    specification="M",
    max_length=10,
    mandatory=True,
    role=Role.REGIMEN_START,
)
WEIGHT_AT_START_OF_CYCLE = cycle(
    28, "Weight at Start of Cycle", type=T.DECIMAL, format="max n3.max n3", specification="R", max_length=7
)
PERFORMANCE_STATUS_AT_START_OF_CYCLE = cycle(
    51, "Performance Status at Start of Cycle - Adult", type=T.CODE, format="an1", specification="R", max_length=1
)
DRUG_NAME = drug(
    31,
    "Drug Name",
    type=T.TEXT,
    format="max an55",
    specification="M",
    max_length=55,
    mandatory=True,
    role=Role.DRUG_NAME,
)
UNIT_OF_MEASUREMENT = drug(
    55,
    "Unit of Measurement (SNOMED CT DM+D)",
    type=T.SNOMED_CT_ID,
    format=SNOMED_FORMAT,
    specification="R",
    max_length=18,
)
ROUTE_OF_ADMINISTRATION = drug(
    56,
    "Route of Administration (SNOMED CT DM+D)",
    type=T.SNOMED_CT_ID,
    format=SNOMED_FORMAT,
    specification="R",
    max_length=18,
)
ORGANISATION_OF_ADMINISTRATION = drug(
    35,
    "Organisation Identifier of SACT Administration",
    type=T.ODS_CODE,
    format="min an3 max an5",
    specification="R",
    max_length=5,
)
