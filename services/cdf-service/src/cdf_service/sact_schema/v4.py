"""SACT v4.0: collected from 1 April 2026, full compliance from 1 July 2026 (what trusts send now).

Item numbers, names, formats and schema specifications are those of the SACT user guide v4.0.1
(NDRS), chapter by chapter; where a code list or an item is not in the stored copies the item says
so in its note (see the service README, "Where the SACT items come from").
"""

from __future__ import annotations

from datetime import date
from functools import partial

from casework.events.catalogue.cdf import StopReason
from cdf_service.sact_schema import common
from cdf_service.sact_schema.common import DATE_FORMAT, clinical, cycle, drug, outcome, regimen
from cdf_service.sact_schema.items import Choice, DataItem, ItemType, Role, SactSchema, numbered

T = ItemType
NHS_NUMBER_STATUS = numbered(
    (
        "Number present and verified",
        "Number present but not traced",
        "Trace required",
        "Trace attempted - No match or multiple match found",
        "Trace needs to be resolved (NHS number or patient details conflict)",
        "Trace in progress",
        "Number not present and trace not required",
        "Trace postponed (baby under 6 weeks old)",
    ),
    width=2,
)
STATED_GENDER = {"1": "Male", "2": "Female", "9": "Indeterminate", "X": "Not known"}
INTENT = {"1": "Curative", "2": "Palliative (non-curative)"}
TOXICITY_GRADE = numbered(f"Grade {g}" for g in range(1, 6))
END_OF_REGIMEN = numbered(
    (
        "Completed pre-determined number of cycles",
        "Disease progression",
        "Toxicity",
        "Patient choice to stop treatment",
        "Organisation (Trust) issues/reason",
        "Minimal residual disease (MRD) negativity",
        "Death of patient",
        "Other",
    )
)
GUIDE = "SACT user guide v4.0.1"
NO_LIST = "codes not in the stored copies of the user guide: checked for length only"
GENDER_NOTE = "codes from the NHS Data Dictionary (Person Stated Gender Code), not in the stored SACT chapters"

linkage = partial(DataItem, section="linkage")
demographics = partial(DataItem, section="demographic and care professional")


def modification(section: partial[DataItem], first: int, subject: str) -> tuple[DataItem, ...]:
    """A modification (or delay) section: whether it happened (mandatory within the section), its reason,
    the patient (clinical) factors and the toxicity grade, numbered from `first`."""
    reason = f"Reason for {subject}"
    return (
        section(first, subject, type=T.CODE, format="an1", specification="M in section", max_length=1),
        section(
            first + 1, reason, type=T.CODE, format="an1", specification="R", max_length=1, note=NOTES.get(first + 1, "")
        ),
        section(
            first + 2,
            f"{reason} - Patient (Clinical) Factors",
            type=T.CODE,
            format="an1",
            specification="R",
            max_length=1,
            note=NOTES.get(first + 2, ""),
        ),
        section(
            first + 3,
            f"Toxicity Grade ({subject})",
            type=T.CODE,
            format="an1",
            specification="R",
            max_length=1,
            codes=TOXICITY_GRADE,
            note=NOTES.get(first + 3, ""),
        ),
    )


INFERRED = "inferred: not in the stored copy, numbered as the regimen, cycle and delay sections are"
NOTES = {
    69: "the user guide's table spells it 'Reason for Regiment Modification'",
    85: "the stored copy's table is cut after 'Reason': the name follows items 69, 73 and 77",
    86: INFERRED,
    87: INFERRED,
}

ITEMS = (
    linkage(
        1,
        "NHS Number",
        type=T.NHS_NUMBER,
        format="n10",
        specification="M*",
        max_length=10,
        mandatory=True,
        role=Role.NHS_NUMBER,
        note="M* with item 44 (at least one); this service needs the NHS number to match approvals",
    ),
    linkage(44, "Local Patient Identifier", type=T.TEXT, format="min an1 max an20", specification="M*", max_length=20),
    linkage(
        43,
        "NHS Number Status Indicator Code",
        type=T.CODE,
        format="an2",
        specification="M",
        max_length=2,
        mandatory=True,
        codes=NHS_NUMBER_STATUS,
    ),
    linkage(
        2,
        "Person Birth Date",
        type=T.DATE,
        format=DATE_FORMAT,
        specification="M",
        max_length=10,
        mandatory=True,
        role=Role.BIRTH_DATE,
    ),
    linkage(
        9,
        "Organisation Identifier (Code of Provider)",
        type=T.ODS_CODE,
        format="min an3 max an5",
        specification="M",
        max_length=5,
        mandatory=True,
        role=Role.PROVIDER,
    ),
    demographics(45, "Person Family Name", type=T.TEXT, format="max an35", specification="M in section", max_length=35),
    demographics(46, "Person Given Name", type=T.TEXT, format="max an35", specification="M in section", max_length=35),
    demographics(
        47,
        "Person Stated Gender Code",
        type=T.CODE,
        format="an1",
        specification="R",
        max_length=1,
        codes=STATED_GENDER,
        note=GENDER_NOTE,
    ),
    demographics(5, "Patient Postcode", type=T.TEXT, format="max an8", specification="M in section", max_length=8),
    demographics(
        62,
        "Professional Registration Issuer Code - Care Professional (Initiating Treatment)",
        type=T.CODE,
        format="an2",
        specification="M in section",
        max_length=2,
        note=NO_LIST,
    ),
    demographics(
        63,
        "Professional Registration Entry Identifier - Care Professional (Initiating Treatment)",
        type=T.TEXT,
        format="min an1 max an32",
        specification="M in section",
        max_length=32,
        note="replaces item 7 Consultant GMC Code",
    ),
    demographics(8, "Consultant Specialty Code", type=T.CODE, format="an3", specification="R", max_length=3),
    clinical(
        10, "Primary Diagnosis (ICD-10)", type=T.ICD10_CODE, format="min an4 max an6", specification="M*", max_length=6
    ),
    clinical(11, "Morphology ICD-O", type=T.TEXT, format="min an5 max an7", specification="M*", max_length=7),
    common.DIAGNOSIS_SNOMED,
    regimen(65, "Treatment Context", type=T.CODE, format="an2", specification="R", max_length=2, note=NO_LIST),
    regimen(
        15,
        "Intent of Treatment",
        type=T.CODE,
        format="an2",
        specification="R",
        max_length=2,
        codes=INTENT,
        note="numeric codes; the stored guidance gives 1 curative and 2 palliative (non-curative)",
    ),
    regimen(
        66,
        "Curative Line of Treatment",
        type=T.INTEGER,
        format="max n2",
        specification="M in choice",
        max_length=2,
        limits=(1, 99),
    ),
    regimen(
        67,
        "Non-Curative Line of Treatment",
        type=T.INTEGER,
        format="max n2",
        specification="M in choice",
        max_length=2,
        limits=(1, 99),
    ),
    common.REGIMEN,
    regimen(17, "Height at Start of Treatment", type=T.DECIMAL, format="n1.max n2", specification="R", max_length=4),
    common.WEIGHT_AT_START_OF_REGIMEN,
    common.PERFORMANCE_STATUS_AT_START_OF_REGIMEN,
    common.DATE_DECISION_TO_TREAT,
    common.START_DATE_OF_REGIMEN,
    regimen(23, "Clinical Trial", type=T.CODE, format="an2", specification="R", max_length=2, note=NO_LIST),
    regimen(24, "Chemoradiation", type=T.CODE, format="an1", specification="R", max_length=1, note=NO_LIST),
    *modification(regimen, 68, "Regimen Modification"),
    cycle(
        26,
        "Cycle Number",
        type=T.INTEGER,
        format="max n3",
        specification="M",
        max_length=3,
        mandatory=True,
        role=Role.CYCLE_NUMBER,
        limits=(0, 999),
    ),
    cycle(
        27,
        "Start Date of Cycle",
        type=T.DATE,
        format=DATE_FORMAT,
        specification="M",
        max_length=10,
        mandatory=True,
        role=Role.CYCLE_START,
    ),
    common.WEIGHT_AT_START_OF_CYCLE,
    common.PERFORMANCE_STATUS_AT_START_OF_CYCLE,
    *modification(cycle, 72, "Cycle Modification"),
    *modification(cycle, 76, "Cycle Delay"),
    common.DRUG_NAME,
    drug(32, "Daily Total Dose Per Administration", type=T.DECIMAL, format="max n8", specification="R", max_length=8),
    drug(
        53,
        "Administration Measurement Per Daily Total Dose",
        type=T.CODE,
        format="an2",
        specification="R",
        max_length=2,
    ),
    drug(
        54,
        "Other - Administration Measurement Per Daily Total Dose",
        type=T.TEXT,
        format="max an15",
        specification="M in section",
        max_length=15,
    ),
    common.UNIT_OF_MEASUREMENT,
    drug(33, "SACT Administration Route", type=T.CODE, format="an2", specification="R", max_length=2, note=NO_LIST),
    common.ROUTE_OF_ADMINISTRATION,
    drug(
        80,
        "Administration Timestamp (Infusion)",
        type=T.TIMESTAMP,
        format="max an25",
        specification="M in choice",
        max_length=25,
        role=Role.ADMINISTERED,
    ),
    drug(
        81,
        "Administration Date (Oral Drug Dispensed)",
        type=T.DATE,
        format=DATE_FORMAT,
        specification="M in choice",
        max_length=10,
        role=Role.DISPENSED,
        note="the date an oral drug was dispensed: the patient taking it cannot be confirmed",
    ),
    drug(
        82,
        "Cycle Length in Days",
        type=T.INTEGER,
        format="max n3",
        specification="R",
        max_length=3,
        role=Role.CYCLE_LENGTH,
        limits=(1, 999),
    ),
    drug(
        83,
        "Number Of Cycles Administered (On A Named Day)",
        type=T.INTEGER,
        format="max n2",
        specification="R",
        max_length=2,
        role=Role.CYCLES_GIVEN,
        limits=(1, 99),
        note="one row may cover several cycles (cycle number, the next ones every item 82 days); empty means 1",
    ),
    common.ORGANISATION_OF_ADMINISTRATION,
    *modification(drug, 84, "Dose Modification"),
    outcome(
        88,
        "End of Regimen Summary",
        type=T.CODES,
        format="an1",
        specification="R",
        max_length=15,
        codes=END_OF_REGIMEN,
        reasons=dict(zip(END_OF_REGIMEN, StopReason, strict=True)),
        note='more than one code may be given, comma-separated ("1,3"); the row giving it is the final treatment',
    ),
)

SACT_V4 = SactSchema(
    version=4,
    title="SACT v4.0",
    collected_from=date(2026, 4, 1),
    source=GUIDE,
    items=ITEMS,
    choices=(
        Choice("diagnosis", (10, 11), exactly_one=False),
        Choice("line of treatment", (66, 67), exactly_one=True),
        Choice("administration date", (80, 81), exactly_one=True),
    ),
    final_from_reasons=True,
)
