"""A seeded generator of national CDF activity: what trusts would submit SACT files for (the files
themselves: cdf_service.synthetic.sact_files).

For each trust: clinicians, patients (NHS numbers from the 999 test range), CDF courses (approved or
not, a start lag after the planned start, some never starting, a time-on-treatment drawn per entry
around its expected cycles, stops with one reason or several) and ordinary (non-CDF) chemotherapy that
makes up most SACT rows. Oral drugs given alone are dispensed for one cycle or, for some patients,
several cycles at a time. The same seed gives the same data.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from casework import clock
from casework.events.catalogue.cdf import StopReason
from cdf_service.domain.list_csv import parse_list_csv
from cdf_service.domain.national_list import ListEntry, is_open_on
from cdf_service.synthetic.people import gmc_number, random_nhs_number
from cdf_service.use_cases.list_loader import SEED_LIST

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
    (("Capecitabine",), 21, 8, "C18.7"),
    (("Abiraterone",), 28, 12, "C61.X"),
)
# Drugs taken by mouth: SACT v4.0 reports the day they were dispensed (item 81), not an administration.
ORAL_DRUGS = frozenset(
    {
        "Capecitabine",
        "Abiraterone",
        "Prednisolone",
        "Dexamethasone",
        "Osimertinib",
        "Olaparib",
        "Niraparib",
        "Ibrutinib",
        "Ribociclib",
        "Palbociclib",
        "Crizotinib",
        "Lorlatinib",
        "Entrectinib",
        "Larotrectinib",
    }
)
STOP_WEIGHTS = {
    StopReason.PROGRESSION: 55,
    StopReason.TOXICITY: 23,
    StopReason.PATIENT_CHOICE: 9,
    StopReason.DEATH: 5,
    StopReason.ORGANISATION: 4,
    StopReason.OTHER: 4,
}
PARTNERS = {"Ribociclib": ("Fulvestrant",), "Palbociclib": ("Fulvestrant",)}
FIRST_NAMES = ("Asha", "Ben", "Chloe", "David", "Emeka", "Fiona", "Gareth", "Hannah", "Imran", "Jane")
SURNAMES = ("Patel", "Smith", "Okafor", "Jones", "Williams", "Khan", "Brown", "Taylor", "Evans", "Wilson")


@dataclass(frozen=True)
class Clinician:
    trust: str
    gmc: str
    name: str
    email: str


class Given(NamedTuple):
    """Cycles given on one day: an administration of one cycle, or a dispensing of several."""

    day: date
    first_cycle: int  # numbered from 1
    cycles: int


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
    reasons: tuple[StopReason, ...] = (StopReason.COMPLETED,)  # why it ends (once every cycle is given)
    entry_id: str | None = None  # CDF courses
    approved: bool = False
    planned_start: date | None = None
    pack_cycles: int = 1  # an oral drug given alone: cycles dispensed at a time

    def given(self, as_of: date) -> list[Given]:
        """The days cycles were given by `as_of`: every cycle start, or every dispensing of a pack (which
        covers its cycles from that day on)."""
        if self.regimen_start is None:
            return []
        packs = []
        for first in range(1, self.cycles + 1, self.pack_cycles):
            day = self.regimen_start + timedelta(days=(first - 1) * self.cycle_days)
            if day > as_of:
                break
            packs.append(Given(day, first, min(self.pack_cycles, self.cycles - first + 1)))
        return packs

    def cycle_starts(self, as_of: date) -> list[date]:
        """The start of every cycle given by `as_of` (a dispensed pack's later cycles included)."""
        if self.regimen_start is None:
            return []
        start, length = self.regimen_start, timedelta(days=self.cycle_days)
        return [start + (g.first_cycle - 1 + k) * length for g in self.given(as_of) for k in range(g.cycles)]

    def final_treatment(self, as_of: date) -> date | None:
        """The day of the last administration (or dispensing), once every cycle is given and run its course."""
        given = self.given(as_of)
        if not given or given[-1].first_cycle + given[-1].cycles - 1 < self.cycles:
            return None
        last = given[-1]
        return last.day if last.day + timedelta(days=last.cycles * self.cycle_days) <= as_of else None


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


def two_cycle_course(entry: ListEntry, trust: str, nhs_number: str, gmc: str, approved: bool) -> Course:
    """A course of `entry`'s drug whose first two cycles have been given by yesterday (planned to start
    the day it did): what a test's small SACT upload shows."""
    start = clock.today() - timedelta(days=entry.cycle_length_days + 1)
    return Course(
        trust=trust,
        nhs_number=nhs_number,
        born=date(1958, 3, 1),
        sex="1",
        gmc=gmc,
        diagnosis="C34.9",
        drugs=(entry.drug_name,),
        cycle_days=entry.cycle_length_days,
        cycles=6,
        regimen_start=start,
        entry_id=entry.entry_id,
        approved=approved,
        planned_start=start,
    )


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
    as_of: date = field(default_factory=lambda: clock.today() - timedelta(days=1))
    history_days: int = 270  # planned starts fall in the last this-many days before as_of
    unapproved_share: float = 0.1  # CDF courses given with no approval
    no_start_share: float = 0.08  # approvals never started (they lapse)
    late_start_share: float = 0.04  # approvals started after the lapse window
    several_reasons_share: float = 0.1  # early stops with a second reason (v4.0 item 88 "2,3")
    pack_share: float = 0.5  # patients on a lone oral drug dispensed 2 or 3 cycles at a time


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


def _reasons(rng: random.Random, cycles: int, planned: int, plan: TrustPlan) -> tuple[StopReason, ...]:
    if cycles >= planned:
        return (StopReason.COMPLETED,)
    first = rng.choices(tuple(STOP_WEIGHTS), weights=tuple(STOP_WEIGHTS.values()))[0]
    if first is StopReason.DEATH or rng.random() >= plan.several_reasons_share:
        return (first,)
    second = StopReason.TOXICITY if first is StopReason.PROGRESSION else StopReason.PROGRESSION
    return tuple(sorted((first, second), key=tuple(StopReason).index))


def _pack(rng: random.Random, drugs: tuple[str, ...], plan: TrustPlan) -> int:
    if len(drugs) != 1 or drugs[0] not in ORAL_DRUGS or rng.random() >= plan.pack_share:
        return 1
    return rng.choice((2, 3))


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
    drugs = (entry.drug_name, *PARTNERS.get(entry.drug_name, ()))
    return Course(
        trust=trust,
        nhs_number=nhs,
        born=born,
        sex=sex,
        gmc=rng.choice(clinicians).gmc,
        diagnosis=rng.choice(DIAGNOSES),
        drugs=drugs,
        cycle_days=entry.cycle_length_days,
        cycles=cycles,
        regimen_start=start if start is not None and start <= plan.as_of else None,
        reasons=_reasons(rng, cycles, entry.expected_cycles * 3, plan),
        entry_id=entry.entry_id,
        approved=approved,
        planned_start=planned,
        pack_cycles=_pack(rng, drugs, plan),
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
        reasons=_reasons(rng, cycles, planned_cycles, plan),
        pack_cycles=_pack(rng, drugs, plan),
    )
