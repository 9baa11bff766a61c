"""Every problem of a SACT row (the slow path): each value against its data item (type, length, code
list, mandatory) and the checks across fields (dates in order, one of items 80 and 81, a multi-cycle row's
cycle length), run on whatever values could be read, even when another field of the row failed. A row
with no problem gets the same record as the fast path (domain.sact_validator) gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from cdf_service.domain.sact_row_reading import RowReader, new_administration, nhs_digits
from cdf_service.domain.sact_rows import Administration, Drug
from cdf_service.domain.sact_values import whole
from cdf_service.sact_schema import Problem, Role


class RowProblems(RowReader):
    """A row's problems, each of them, named by the columns they are in."""

    def problems(self, cells: Sequence[str]) -> Administration | list[Problem]:
        """Every problem of the row; its record when it has none (then the same as `accept`'s)."""
        if len(cells) != self.width:
            return [Problem("row", f"has {len(cells)} fields, the header has {self.width}")]
        problems: list[Problem] = []
        header = self.schema.header_of
        patient = self.patient_ref(cells[self._nhs])
        if patient is None:
            problems.append(Problem(header(Role.NHS_NUMBER) or "", "not a valid NHS number (Modulus 11)"))
        provider = self.provider(cells[self._provider])
        if not provider:
            problems.append(Problem(header(Role.PROVIDER) or "", f"must be {self.trust} or one of its sites"))
        drug = self._named_drug(cells, problems)
        born = self._date_of(cells, Role.BIRTH_DATE, problems)
        regimen_start = self._date_of(cells, Role.REGIMEN_START, problems)
        given, dispensed, given_field = self._given_or_dispensed(cells, problems)
        cycle = self._cycle_number(cells, problems)
        cycle_start = self._date_of(cells, Role.CYCLE_START, problems)
        if cycle_start is None and self._cycle_start_missing_is_fine(cells):
            cycle_start = given
        final = self._date_of(cells, Role.FINAL_TREATMENT, problems)
        generic_ok = self._each_item(cells, problems)
        cycles, length = self._cycles_of(cells, problems)
        reasons = self.reasons(cells) if generic_ok else None
        if self.schema.final_from_reasons and reasons:
            final = given
        dates = _Dates(born, regimen_start, cycle_start, given, final)
        problems += chronology(dates, self.today, self._fields(given_field))
        if problems:
            return problems
        assert patient and drug and born and regimen_start and given and cycle_start and cycle is not None
        nhs = nhs_digits(cells[self._nhs]) if drug.listed else None  # kept for an unapproved use's case
        record = (provider, patient, drug.key, drug.listed, regimen_start, cycle, cycle_start, given, final)
        return new_administration(Administration, (*record, reasons, cycles, length, dispensed, nhs))

    def _named_drug(self, cells: Sequence[str], problems: list[Problem]) -> Drug | None:
        name = cells[self._drug].strip()
        drug = self.drug(cells[self._drug])
        if drug is None:
            reason = "is required" if not name else f"unknown drug: {name!r} is not a known SACT drug name"
            problems.append(Problem(self.schema.header_of(Role.DRUG_NAME) or "", reason))
        return drug

    def _date_of(self, cells: Sequence[str], role: Role, problems: list[Problem]) -> date | None:
        """A date item the rules read: None when absent, empty or not a date (a problem unless optional)."""
        at = self.positions.get(role)
        item = self.schema.by_role.get(role)
        if at is None or item is None:  # not an item of this version, or not a column of this file
            return None
        raw = cells[at]
        value = self.to_date(raw) if raw else None
        if value is None and (raw or item.mandatory):
            reason = "is required (YYYY-MM-DD)" if not raw else f"not a date (YYYY-MM-DD): {raw!r}"
            problems.append(Problem(item.header, reason))
        return value

    def _cycle_start_missing_is_fine(self, cells: Sequence[str]) -> bool:
        at = self._cycle_start
        return not self._cycle_start_required and (at is None or not cells[at])

    def _given_or_dispensed(self, cells: Sequence[str], problems: list[Problem]) -> tuple[date | None, bool, str]:
        """The day of the administration, whether it was a dispensing, and the column that gave it."""
        infusion_item = self.schema.by_role[Role.ADMINISTERED]
        oral_item = self.schema.by_role.get(Role.DISPENSED)
        infusion = cells[self._given] if self._given is not None else ""
        oral = cells[self._dispensed] if self._dispensed is not None else ""
        if oral_item is None:  # v3.0: one administration date
            return self._date_of(cells, Role.ADMINISTERED, problems), False, infusion_item.header
        both = f"{infusion_item.header} or {oral_item.header}"
        if infusion and oral:
            problems.append(Problem(both, "give one of items 80 (infusion) and 81 (oral, dispensed), not both"))
            return None, False, both
        if not infusion and not oral:
            problems.append(Problem(both, "one of items 80 (infusion) and 81 (oral, dispensed) is required"))
            return None, False, both
        if oral:
            return self._date_of(cells, Role.DISPENSED, problems), True, oral_item.header
        day = self.to_day(infusion)
        if day is None:
            problems.append(Problem(infusion_item.header, f"not a date and time (YYYY-MM-DDThh:mm:ss): {infusion!r}"))
        return day, False, infusion_item.header

    def _cycle_number(self, cells: Sequence[str], problems: list[Problem]) -> int | None:
        raw = cells[self._cycle]
        if whole(raw) and int(raw) <= self._cycle_max:
            return int(raw)
        reason = "is required" if not raw else f"must be a whole number 0-{self._cycle_max}"
        problems.append(Problem(self.schema.header_of(Role.CYCLE_NUMBER) or "", reason))
        return None

    def _each_item(self, cells: Sequence[str], problems: list[Problem]) -> bool:
        """Every other value against its data item, and the choices; True when all were fine."""
        before = len(problems)
        for column in self.item_columns:
            if (reason := column.reason(cells[column.index])) is not None:
                problems.append(Problem(column.item.header, reason))
        for choice, positions in self.choices:
            given = sum(1 for i in positions if cells[i].strip())
            names = " or ".join(self.schema.choice_headers(choice))
            if given == 0:
                problems.append(Problem(names, f"one of items {_items(choice.items)} ({choice.name}) is required"))
            elif choice.exactly_one and given > 1:
                problems.append(Problem(names, f"give one of items {_items(choice.items)} ({choice.name}), not both"))
        return len(problems) == before

    def _cycles_of(self, cells: Sequence[str], problems: list[Problem]) -> tuple[int, int | None]:
        """Item 83 (cycles the row covers, 1 when empty) and item 82 (cycle length), each when well formed;
        several cycles need a cycle length to date them."""
        cycles = length = None
        if self._cycles is not None and (raw := cells[self._cycles].strip()):
            cycles = int(raw) if self._column_fine(self._cycles, raw) else None
        if self._length is not None and (raw := cells[self._length].strip()):
            length = int(raw) if self._column_fine(self._length, raw) else None
        elif cycles is not None and cycles > 1:
            item = self.schema.by_role[Role.CYCLES_GIVEN]
            problems.append(Problem(item.header, f"covers {cycles} cycles: give item 82 (cycle length) to date them"))
        return cycles or 1, length

    def _column_fine(self, index: int, raw: str) -> bool:
        return next(column for column in self.item_columns if column.index == index).reason(raw) is None

    def _fields(self, given_field: str) -> _Fields:
        header = self.schema.header_of
        return _Fields(
            header(Role.REGIMEN_START) or "",
            header(Role.CYCLE_START) or "",
            given_field,
            header(Role.FINAL_TREATMENT) or "",
        )


class _Dates(NamedTuple):
    born: date | None
    regimen_start: date | None
    cycle_start: date | None
    given: date | None
    final: date | None


class _Fields(NamedTuple):
    regimen_start: str
    cycle_start: str
    given: str
    final: str


# the dates that must not come before another: (the later, the earlier, the reason); `chronology` names
# them in a row's problems, and the columnar pass (domain.sact_columns) compares the same pairs
DATE_ORDER: tuple[tuple[str, str, str], ...] = (
    ("regimen_start", "born", "is before the date of birth"),
    ("given", "regimen_start", "is before the start date of the regimen"),
    ("cycle_start", "regimen_start", "is before the start date of the regimen"),
    ("final", "regimen_start", "is before the start date of the regimen (stop before start)"),
)


def chronology(d: _Dates, today: date, fields: _Fields) -> list[Problem]:
    """Dates that contradict each other, each checked when both of its dates could be read (the final
    treatment only where the version has the item)."""
    problems = []
    if d.given is not None and d.given > today:
        problems.append(Problem(fields.given, "is in the future"))
    for later, earlier, reason in DATE_ORDER:
        day, before = getattr(d, later), getattr(d, earlier)
        if day is not None and before is not None and day < before and (field := getattr(fields, later)):
            problems.append(Problem(field, reason))
    return problems


def _items(numbers: Sequence[int]) -> str:
    return " and ".join(str(n) for n in numbers)
