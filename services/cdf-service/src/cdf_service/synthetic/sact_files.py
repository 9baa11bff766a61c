"""SACT files for synthetic courses, in SACT v4.0 (or, on request, v3.0): the header and values of the
version's schema (cdf_service.sact_schema), written lazily so a million-row file streams to disk.

v4.0 rows: an infusion gives its timestamp (item 80), an oral drug the day it was dispensed (item 81),
every row its cycle length (82) and the cycles it covers (83: several for a pack of an oral drug given
alone), and the last rows of a finished regimen the End of Regimen Summary (88, "2,3" for two reasons).
v3.0 rows: one row per cycle with its administration date (34; a pack's dispensing day for each of its
cycles), the date of final treatment (37) and the curative outcome items (57, 58: the first reason).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO

from casework.events.catalogue.cdf import StopReason
from cdf_service.sact_schema import CURRENT, Role, SactSchema
from cdf_service.sact_schema.v3 import NOT_COMPLETED_STOPS
from cdf_service.synthetic.national import FIRST_NAMES, ORAL_DRUGS, SURNAMES, Course, Given

CODE_OF_REASON = {reason: code for code, reason in zip("12345678", StopReason, strict=True)}  # v4.0 item 88
V3_CODE_OF_REASON = {reason: code for code, reason in NOT_COMPLETED_STOPS.items()}  # v3.0 item 58
MILLIGRAM = "258684004"  # SNOMED CT unit of measurement
ORAL_ROUTE, INTRAVENOUS_ROUTE = "26643006", "47625008"  # SNOMED CT routes of administration
INFUSION_TIMES = ("09:15:00", "10:30:00", "11:45:00", "13:30:00", "15:00:00")


class RowWriter:
    """Turns courses into SACT rows of one version (lists of cells in its header order)."""

    def __init__(self, schema: SactSchema, as_of: date, rng: random.Random) -> None:
        self.schema = schema
        self.as_of = as_of
        self.rng = rng
        self.index = {name: i for i, name in enumerate(schema.headers)}
        self._at = {item.number: self.index[item.header] for item in schema.items}
        self.per_cycle = Role.CYCLES_GIVEN not in schema.by_role  # v3.0: a row for each cycle of a pack

    def count(self, course: Course) -> int:
        """How many rows `rows(course)` yields."""
        given = course.given(self.as_of)
        return len(course.drugs) * sum(g.cycles if self.per_cycle else 1 for g in given)

    def rows(self, course: Course) -> Iterator[list[str]]:
        given = course.given(self.as_of)
        if not given or course.regimen_start is None:
            return
        final = course.final_treatment(self.as_of)
        base, time = self._regimen_cells(course), self.rng.choice(INFUSION_TIMES)
        for g in given:
            last = final is not None and g is given[-1]
            for drug in course.drugs:
                for first, cycles in self._rows_of(g):
                    cells = base.copy()
                    self._drug_cells(cells, course, drug, (g.day, time), first, cycles)
                    if last:
                        self._outcome_cells(cells, course, g.day)
                    yield cells

    def _rows_of(self, g: Given) -> list[tuple[int, int]]:
        """(first cycle, cycles covered) of the rows one day's giving takes."""
        return [(g.first_cycle + k, 1) for k in range(g.cycles)] if self.per_cycle else [(g.first_cycle, g.cycles)]

    def _put(self, cells: list[str], values: Mapping[int, str]) -> None:
        """Values by item number; items this version does not have are left out."""
        at = self._at
        for number, value in values.items():
            if number in at:
                cells[at[number]] = value

    def _drug_cells(
        self, cells: list[str], course: Course, drug: str, when: tuple[date, str], first: int, cycles: int
    ) -> None:
        """The drug given (or dispensed) on a day, at a time of day if infused."""
        assert course.regimen_start is not None
        day, time = when
        cycle_start = course.regimen_start + timedelta(days=(first - 1) * course.cycle_days)
        oral = drug in ORAL_DRUGS
        values = {
            26: str(first),
            27: cycle_start.isoformat(),
            31: drug,
            56: ORAL_ROUTE if oral else INTRAVENOUS_ROUTE,
            34: day.isoformat(),
            82: str(course.cycle_days),
            83: str(cycles),
        }
        values[81 if oral else 80] = day.isoformat() if oral else f"{day.isoformat()}T{time}"
        self._put(cells, values)

    def _outcome_cells(self, cells: list[str], course: Course, day: date) -> None:
        completed = StopReason.COMPLETED in course.reasons
        early = [r for r in course.reasons if r is not StopReason.COMPLETED]
        self._put(
            cells,
            {
                88: ",".join(CODE_OF_REASON[r] for r in course.reasons),
                37: day.isoformat(),
                40: "N" if completed else "Y",
                57: "Y" if completed else "N",
                58: V3_CODE_OF_REASON[early[0]] if early else "",
            },
        )

    def _regimen_cells(self, course: Course) -> list[str]:
        """The cells every row of the course repeats."""
        assert course.regimen_start is not None
        rng = self.rng
        curative = course.entry_id is None and rng.random() < 0.3
        values = {
            1: course.nhs_number,
            43: "01",
            2: course.born.isoformat(),
            45: rng.choice(SURNAMES),
            46: rng.choice(FIRST_NAMES),
            47: course.sex,
            5: f"{rng.choice(('CB', 'OX', 'NW', 'LE'))}{rng.randrange(1, 20)} {rng.randrange(1, 9)}AB",
            6: f"{rng.choice('DEFGHJKLMN')}{rng.randrange(10000, 99999)}",
            7: course.gmc,
            8: "370",
            9: course.trust,
            10: course.diagnosis,
            11: "8140/3",
            12: rng.choice(("T2N1M0", "T3N2M1", "T4N0M1")),
            15: "1" if curative else "2",
            66 if curative else 67: "1",
            16: " + ".join(d.upper() for d in course.drugs),
            17: f"1.{rng.randrange(50, 95)}",
            18: str(rng.randrange(45, 110)),
            50: rng.choice(("0", "1")),
            20: "N",
            21: (course.regimen_start - timedelta(days=rng.randrange(3, 15))).isoformat(),
            22: course.regimen_start.isoformat(),
            23: "N",
            24: "N",
            51: "1",
            32: str(rng.randrange(50, 900)),
            55: MILLIGRAM,
            35: course.trust,
            38: "N",
            39: "N",
        }
        cells = [""] * len(self.schema.headers)
        self._put(cells, values)
        return cells


# --- files with injected bad rows ------------------------------------------------------------------

# kind -> what it breaks (the column of that role; a dispensed row's item 81 for an administration)
BAD_KINDS = {
    "bad_nhs_number": Role.NHS_NUMBER,
    "unknown_drug": Role.DRUG_NAME,
    "given_before_start": Role.ADMINISTERED,
    "stop_before_start": Role.FINAL_TREATMENT,
    "duplicate_cycle": Role.CYCLE_NUMBER,
}


def bad_kinds(schema: SactSchema) -> tuple[str, ...]:
    """The kinds of bad row a file of this version can carry (v4.0 has no date of final treatment)."""
    return tuple(kind for kind, role in BAD_KINDS.items() if role in schema.by_role)


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
    schema: SactSchema = CURRENT,
) -> tuple[int, list[Injected]]:
    """Write the courses' SACT rows (header first) with `bad` {kind: count} rows mixed in.

    Each bad row is a damaged copy of the good row just written (a duplicate is an exact copy), so
    the good data is unchanged and the report must list exactly the returned rows. Returns the number
    of data rows written and the injected rows.
    """
    writer = RowWriter(schema, as_of, rng)
    out = csv.writer(handle, lineterminator="\n")
    out.writerow(schema.headers)
    good_total = sum(writer.count(c) for c in courses)
    kinds = [k for k, n in (bad or {}).items() for _ in range(n)]
    unknown = set(kinds) - set(bad_kinds(schema))
    if unknown:
        raise ValueError(f"bad row kinds {sorted(unknown)} are not possible in {schema.title}")
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
                damaged, field = _damage(cells, kind, writer)
                out.writerow(damaged)
                written += 1
                injected.append(Injected(written, kind, field))
    return written, injected


def _damage(cells: list[str], kind: str, writer: RowWriter) -> tuple[list[str], str]:
    schema, index = writer.schema, writer.index
    bad = cells.copy()
    field = schema.header_of(BAD_KINDS[kind]) or ""
    start = date.fromisoformat(bad[index[schema.header_of(Role.REGIMEN_START) or ""]])
    if kind == "bad_nhs_number":
        nhs = bad[index[field]]
        bad[index[field]] = nhs[:9] + str((int(nhs[9]) + 1) % 10)  # the check digit no longer fits
    elif kind == "unknown_drug":
        bad[index[field]] = "Notarealumab"
    elif kind == "stop_before_start":
        bad[index[field]] = (start - timedelta(days=7)).isoformat()
    elif kind == "given_before_start":
        oral = schema.header_of(Role.DISPENSED)
        if oral is not None and bad[index[oral]]:
            field = oral
        earlier = (start - timedelta(days=7)).isoformat()
        bad[index[field]] = earlier + bad[index[field]][10:]  # an infusion keeps its time of day
    return bad, field  # duplicate_cycle: the exact copy
