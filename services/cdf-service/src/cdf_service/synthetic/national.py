"""A seeded generator of national CDF activity and the SACT files trusts would submit for it.

For each trust: clinicians, patients (NHS numbers from the 999 test range), CDF courses (approved or
not, a start lag after the planned start, some never starting, a time-on-treatment drawn per entry
around its expected cycles, stops with a reason) and ordinary (non-CDF) chemotherapy that makes up
most SACT rows. Rows are produced lazily in the national field order of `cdf_service.sact_schema`,
so a million-row file streams to disk without being held in memory. The same seed gives the same data.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, Any

from cdf_service.domain.list_csv import parse_list_csv
from cdf_service.domain.national_list import ListEntry, is_open_on
from cdf_service.list_loader import SEED_LIST
from cdf_service.sact_drugs import reference_drugs
from cdf_service.sact_schema import FIELDS, RegimenOutcome
from cdf_service.synthetic.people import gmc_number, random_nhs_number

TRUSTS = ("RRV", "RGT", "RTH", "RM1", "RWE", "RBV", "RPY", "RHQ", "RJ1", "RRK")
DIAGNOSES = ("C34.1", "C50.9", "C56.X", "C18.7", "C90.0", "C81.1", "C67.9", "C61.X", "C44.9", "C20.X")
# (drugs, cycle length, planned cycles, diagnosis): common regimens outside the CDF
ROUTINE_REGIMENS = (
    (("Carboplatin", "Paclitaxel"), 21, 6, "C34.1"),
    (("Oxaliplatin", "Capecitabine"), 21, 8, "C18.7"),
    (("Docetaxel",), 21, 6, "C61.X"),
    (("Rituximab", "Cyclophosphamide", "Doxorubicin", "Vincristine", "Prednisolone"), 21, 6, "C81.1"),
    (("Gemcitabine",), 28, 6, "C56.X"),
    (("Pemetrexed", "Cisplatin"), 21, 4, "C34.1"),
    (("Fluorouracil", "Oxaliplatin", "Leucovorin"), 14, 12, "C20.X"),
    (("Trastuzumab",), 21, 18, "C50.9"),
    (("Bortezomib", "Dexamethasone"), 21, 8, "C90.0"),
)
PARTNERS = {"Ribociclib": ("Fulvestrant",), "Palbociclib": ("Fulvestrant",)}
FIRST_NAMES = ("Asha", "Ben", "Chloe", "David", "Emeka", "Fiona", "Gareth", "Hannah", "Imran", "Jane")
SURNAMES = ("Patel", "Smith", "Okafor", "Jones", "Williams", "Khan", "Brown", "Taylor", "Evans", "Wilson")


@dataclass(frozen=True)
class Clinician:
    trust: str
    gmc: str
    name: str
    email: str


@dataclass(frozen=True)
class Course:
    """One regimen of one patient at one trust (a CDF course or routine chemotherapy)."""

    trust: str
    nhs_number: str
    born: date
    sex: str
    gmc: str
    diagnosis: str
    drugs: tuple[str, ...]  # the first is the CDF drug for CDF courses
    cycle_days: int
    cycles: int  # cycles the patient would receive if time allowed
    regimen_start: date | None  # None: never started
    outcome: RegimenOutcome
    entry_id: str | None = None  # CDF courses
    approved: bool = False
    planned_start: date | None = None

    def cycle_starts(self, as_of: date) -> list[date]:
        if self.regimen_start is None:
            return []
        starts = (self.regimen_start + timedelta(days=k * self.cycle_days) for k in range(self.cycles))
        return [d for d in starts if d <= as_of]

    def final_treatment(self, as_of: date) -> date | None:
        """The start of the final cycle, once the last cycle has been given (and a cycle has passed)."""
        starts = self.cycle_starts(as_of)
        if len(starts) < self.cycles or not starts:
            return None
        return starts[-1] if starts[-1] + timedelta(days=self.cycle_days) <= as_of else None

    def row_count(self, as_of: date) -> int:
        return len(self.cycle_starts(as_of)) * len(self.drugs)


@dataclass
class SyntheticTrust:
    trust: str
    clinicians: list[Clinician]
    courses: list[Course]
    entries: dict[str, ListEntry]

    def applications(self) -> list[dict[str, Any]]:
        """Prior-approval bodies (POST /cdf/applications) for the approved CDF courses."""
        return [application_for(c, self.entries[c.entry_id]) for c in self.courses if c.approved and c.entry_id]

    @property
    def cdf_courses(self) -> list[Course]:
        return [c for c in self.courses if c.entry_id]


def application_for(course: Course, entry: ListEntry) -> dict[str, Any]:
    assert course.planned_start is not None
    return {
        "nhs_number": course.nhs_number,
        "date_of_birth": course.born.isoformat(),
        "provider_ods": course.trust,
        "entry_id": entry.entry_id,
        "clinician_gmc": course.gmc,
        "answers": {c.code: True for c in entry.criteria},
        "planned_start": course.planned_start.isoformat(),
        "consent_confirmed": True,
    }


def seed_entries() -> dict[str, ListEntry]:
    """The seeded national list, latest version of each entry."""
    rows, problems = parse_list_csv(SEED_LIST.read_text(encoding="utf-8"))
    assert not problems, problems
    latest: dict[str, ListEntry] = {}
    for row in rows:
        latest[row.entry.entry_id] = row.entry
    return latest


@dataclass
class TrustPlan:
    """How much of what to generate for one trust."""

    cdf_patients: int = 40
    routine_patients: int = 200
    as_of: date = field(default_factory=lambda: date.today() - timedelta(days=1))
    history_days: int = 270  # planned starts fall in the last this-many days before as_of
    unapproved_share: float = 0.1  # CDF courses given with no approval
    no_start_share: float = 0.08  # approvals never started (they lapse)
    late_start_share: float = 0.04  # approvals started after the lapse window


def build_trust(trust: str, plan: TrustPlan, rng: random.Random, seen: set[str] | None = None) -> SyntheticTrust:
    seen = seen if seen is not None else set()
    entries = seed_entries()
    clinicians = [_clinician(trust, rng) for _ in range(4)]
    courses = [_cdf_course(trust, plan, rng, seen, entries, clinicians) for _ in range(plan.cdf_patients)]
    courses += [_routine_course(trust, plan, rng, seen, clinicians) for _ in range(plan.routine_patients)]
    return SyntheticTrust(trust, clinicians, [c for c in courses if c is not None], entries)


def _clinician(trust: str, rng: random.Random) -> Clinician:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    gmc = gmc_number(rng)
    return Clinician(trust, gmc, f"Dr {name}", f"{name.lower().replace(' ', '.')}.{gmc[-3:]}@nhs.net")


def _patient(rng: random.Random, seen: set[str]) -> tuple[str, date, str]:
    while (nhs := random_nhs_number(rng)) in seen:
        pass
    seen.add(nhs)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
    return nhs, born, rng.choice(("1", "2"))


def _time_on_treatment(rng: random.Random, expected_cycles: int) -> int:
    """Cycles given: geometric around the entry's expected cycles (a constant stopping hazard), capped."""
    stop_chance = 1.0 / max(expected_cycles, 1)
    cycles = 1
    while rng.random() > stop_chance and cycles < expected_cycles * 3:
        cycles += 1
    return cycles


def _outcome(rng: random.Random, cycles: int, planned: int) -> RegimenOutcome:
    if cycles >= planned:
        return RegimenOutcome.COMPLETED
    return rng.choices(
        (RegimenOutcome.PROGRESSION, RegimenOutcome.TOXICITY, RegimenOutcome.PATIENT_CHOICE, RegimenOutcome.DIED),
        weights=(60, 25, 10, 5),
    )[0]


def _cdf_course(
    trust: str,
    plan: TrustPlan,
    rng: random.Random,
    seen: set[str],
    entries: Mapping[str, ListEntry],
    clinicians: Sequence[Clinician],
) -> Course | None:
    nhs, born, sex = _patient(rng, seen)
    planned = plan.as_of - timedelta(days=rng.randrange(10, plan.history_days))
    open_entries = [e for e in entries.values() if is_open_on(e, planned)]
    if not open_entries:
        return None
    entry = rng.choice(open_entries)
    approved = rng.random() >= plan.unapproved_share
    roll = rng.random()
    if approved and roll < plan.no_start_share:
        start = None
    elif approved and roll < plan.no_start_share + plan.late_start_share:
        start = planned + timedelta(days=entry.lapse_window_days + rng.randrange(5, 30))
    else:
        start = planned + timedelta(days=rng.randrange(0, 21))
    cycles = _time_on_treatment(rng, entry.expected_cycles)
    return Course(
        trust=trust,
        nhs_number=nhs,
        born=born,
        sex=sex,
        gmc=rng.choice(clinicians).gmc,
        diagnosis=rng.choice(DIAGNOSES),
        drugs=(entry.drug_name, *PARTNERS.get(entry.drug_name, ())),
        cycle_days=entry.cycle_length_days,
        cycles=cycles,
        regimen_start=start if start is not None and start <= plan.as_of else None,
        outcome=_outcome(rng, cycles, entry.expected_cycles * 3),
        entry_id=entry.entry_id,
        approved=approved,
        planned_start=planned,
    )


def _routine_course(
    trust: str, plan: TrustPlan, rng: random.Random, seen: set[str], clinicians: Sequence[Clinician]
) -> Course:
    nhs, born, sex = _patient(rng, seen)
    drugs, cycle_days, planned_cycles, diagnosis = rng.choice(ROUTINE_REGIMENS)
    cycles = min(_time_on_treatment(rng, planned_cycles), planned_cycles)
    return Course(
        trust=trust,
        nhs_number=nhs,
        born=born,
        sex=sex,
        gmc=rng.choice(clinicians).gmc,
        diagnosis=diagnosis,
        drugs=drugs,
        cycle_days=cycle_days,
        cycles=cycles,
        regimen_start=plan.as_of - timedelta(days=rng.randrange(1, plan.history_days)),
        outcome=_outcome(rng, cycles, planned_cycles),
    )


# --- SACT rows -------------------------------------------------------------------------------------


class RowWriter:
    """Turns courses into SACT rows (lists of cells in FIELDS order)."""

    def __init__(self, as_of: date, rng: random.Random) -> None:
        self.as_of = as_of
        self.rng = rng
        drugs = {**reference_drugs(), **{e.drug_name: e.dmd_ids for e in seed_entries().values()}}
        self.codes = {name: ids[0] for name, ids in drugs.items()}
        self.index = {name: i for i, name in enumerate(FIELDS)}

    def rows(self, course: Course) -> Iterator[list[str]]:
        starts = course.cycle_starts(self.as_of)
        if not starts or course.regimen_start is None:
            return
        final = course.final_treatment(self.as_of)
        base = self._regimen_cells(course)
        for number, cycle_start in enumerate(starts, start=1):
            last = final is not None and number == len(starts)
            for drug in course.drugs:
                cells = base.copy()
                cells[self.index["CYCLE_NUMBER"]] = str(number)
                cells[self.index["START_DATE_OF_CYCLE"]] = cycle_start.isoformat()
                cells[self.index["DRUG_NAME"]] = drug
                cells[self.index["DRUG_DM_D_CODE"]] = self.codes[drug]
                cells[self.index["ADMINISTRATION_DATE"]] = cycle_start.isoformat()
                if last:
                    cells[self.index["DATE_OF_FINAL_TREATMENT"]] = cycle_start.isoformat()
                    cells[self.index["REGIMEN_OUTCOME_SUMMARY"]] = course.outcome.value
                    cells[self.index["REGIMEN_MODIFICATION_STOPPED_EARLY"]] = (
                        "N" if course.outcome is RegimenOutcome.COMPLETED else "Y"
                    )
                yield cells

    def _regimen_cells(self, course: Course) -> list[str]:
        assert course.regimen_start is not None
        rng = self.rng
        values = {
            "NHS_NUMBER": course.nhs_number,
            "DATE_OF_BIRTH": course.born.isoformat(),
            "GENDER_CURRENT": course.sex,
            "ETHNICITY": rng.choice(("A", "B", "C", "H", "M", "Z")),
            "PATIENT_POSTCODE": f"{rng.choice(('CB', 'OX', 'NW', 'LE'))}{rng.randrange(1, 20)} {rng.randrange(1, 9)}AB",
            "REGISTERED_GP_PRACTICE_CODE": f"{rng.choice('DEFGHJKLMN')}{rng.randrange(10000, 99999)}",
            "CONSULTANT_GMC_CODE": course.gmc,
            "CONSULTANT_SPECIALITY_CODE": "370",
            "ORGANISATION_CODE_OF_PROVIDER": course.trust,
            "PRIMARY_DIAGNOSIS": course.diagnosis,
            "MORPHOLOGY": "8140/3",
            "STAGE_OF_DISEASE": rng.choice(("T2N1M0", "T3N2M1", "T4N0M1")),
            "PROGRAMME_NUMBER": "1",
            "REGIMEN_NUMBER": "1",
            "INTENT_OF_TREATMENT": "P" if course.entry_id else rng.choice(("A", "C", "P")),
            "REGIMEN": " + ".join(d.upper() for d in course.drugs),
            "HEIGHT_AT_START_OF_REGIMEN": f"1.{rng.randrange(50, 95)}",
            "WEIGHT_AT_START_OF_REGIMEN": str(rng.randrange(45, 110)),
            "PERFORMANCE_STATUS_AT_START_OF_REGIMEN": rng.choice(("0", "1")),
            "CO_MORBIDITY_ADJUSTMENT": "N",
            "DATE_DECISION_TO_TREAT": (course.regimen_start - timedelta(days=rng.randrange(3, 15))).isoformat(),
            "START_DATE_OF_REGIMEN": course.regimen_start.isoformat(),
            "CLINICAL_TRIAL": "N",
            "CHEMO_RADIATION": "N",
            "NUMBER_OF_CYCLES_PLANNED": str(max(course.cycles, 1)),
            "WEIGHT_AT_START_OF_CYCLE": "",
            "PERFORMANCE_STATUS_AT_START_OF_CYCLE": "1",
            "OPCS_PROCUREMENT_CODE": "X71.1",
            "ACTUAL_DOSE_PER_ADMINISTRATION": str(rng.randrange(50, 900)),
            "DOSE_UNIT": "mg",
            "ADMINISTRATION_ROUTE": "1",
            "ORGANISATION_CODE_OF_DRUG_PROVIDER": course.trust,
            "OPCS_DELIVERY_CODE": "X72.1",
            "REGIMEN_MODIFICATION_DOSE_REDUCTION": "N",
            "REGIMEN_MODIFICATION_TIME_DELAY": "N",
            "REGIMEN_MODIFICATION_STOPPED_EARLY": "",
            "DATE_OF_FINAL_TREATMENT": "",
            "REGIMEN_OUTCOME_SUMMARY": "",
            "DATE_OF_DEATH": "",
        }
        return [values.get(name, "") for name in FIELDS]


# --- files with injected bad rows ------------------------------------------------------------------

BAD_KINDS = {
    "bad_nhs_number": "NHS_NUMBER",
    "unknown_drug": "DRUG_NAME",
    "stop_before_start": "DATE_OF_FINAL_TREATMENT",
    "duplicate_cycle": "CYCLE_NUMBER",
}


@dataclass(frozen=True)
class Injected:
    row: int  # data row number in the file (1 = first row after the header)
    kind: str
    field: str


def write_sact_csv(
    handle: IO[str],
    courses: Sequence[Course],
    as_of: date,
    rng: random.Random,
    bad: Mapping[str, int] | None = None,
) -> tuple[int, list[Injected]]:
    """Write the courses' SACT rows (header first) with `bad` {kind: count} rows mixed in.

    Each bad row is a damaged copy of the good row just written (a duplicate is an exact copy), so
    the good data is unchanged and the report must list exactly the returned rows. Returns the number
    of data rows written and the injected rows.
    """
    writer = RowWriter(as_of, rng)
    out = csv.writer(handle, lineterminator="\n")
    out.writerow(FIELDS)
    good_total = sum(c.row_count(as_of) for c in courses)
    kinds = [k for k, n in (bad or {}).items() for _ in range(n)]
    unknown = set(kinds) - set(BAD_KINDS)
    if unknown:
        raise ValueError(f"unknown bad row kinds: {sorted(unknown)}")
    after = dict(
        zip(sorted(rng.sample(range(1, good_total + 1), len(kinds))), rng.sample(kinds, len(kinds)), strict=True)
    )
    written, good, injected = 0, 0, []
    for course in courses:
        for cells in writer.rows(course):
            out.writerow(cells)
            written += 1
            good += 1
            if (kind := after.get(good)) is not None:
                out.writerow(_damage(cells, kind, writer.index))
                written += 1
                injected.append(Injected(written, kind, BAD_KINDS[kind]))
    return written, injected


def _damage(cells: list[str], kind: str, index: Mapping[str, int]) -> list[str]:
    bad = cells.copy()
    if kind == "bad_nhs_number":
        nhs = bad[index["NHS_NUMBER"]]
        bad[index["NHS_NUMBER"]] = nhs[:9] + str((int(nhs[9]) + 1) % 10)  # the check digit no longer fits
    elif kind == "unknown_drug":
        bad[index["DRUG_NAME"]] = "Notarealumab"
        bad[index["DRUG_DM_D_CODE"]] = ""
    elif kind == "stop_before_start":
        start = date.fromisoformat(bad[index["START_DATE_OF_REGIMEN"]])
        bad[index["DATE_OF_FINAL_TREATMENT"]] = (start - timedelta(days=7)).isoformat()
    return bad  # duplicate_cycle: the exact copy
