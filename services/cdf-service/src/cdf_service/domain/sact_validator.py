"""Validating SACT rows one at a time, for one version's schema: a row is accepted whole (one
Administration) or rejected with every one of its problems.

Every problem of a row is reported (domain.sact_row_problems, the slow path): each value is checked
against its data item (type, length, code list, mandatory), and the checks across fields (dates in
order, one of items 80 and 81, a multi-cycle row's cycle length) run on whatever values could be read,
even when another field of the row failed. Both paths read the row's values through
domain.sact_row_reading (column positions, the columns' checks, the cached conversions).

A piece of a file is first checked a column at a time (domain.sact_columns: the same rules, through this
class's functions and caches); `problems` then names the problems of the few rows that pass declines. A
piece Polars does not read as the csv module does is validated here a row at a time, so the row path
stays fast: `accept` takes the common case (a good row) with the least work: fields by column index;
bounded caches of values that repeat (NHS numbers, dates, drug names); a regimen's patient, dates and
regimen-level items checked on its first row and, on the rows after, only compared with it (in C: one
slice when, as in a file in the schema's order, they are the row's first cells, which `records.rows_of`
then shares with the row before); the cycle- and drug-level items compared with the last few rows',
newest first, and else each value looked up among those already found well formed; a patient's HMAC
from the key's precomputed pads. When it declines, `problems` names the problems; a unit test holds the
two to accepting exactly the same rows. The service README gives the benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdf_service.domain.sact_row_problems import RowProblems
from cdf_service.domain.sact_row_reading import (
    RECENT_ROWS,
    ROWS_REMEMBERED,
    UNKNOWN_DRUG,
    RegimenFacts,
    RowFacts,
    new_administration,
    nhs_digits,
)
from cdf_service.domain.sact_rows import Administration
from cdf_service.sact_schema import Problem


class RowValidator(RowProblems):
    """Validates rows of one file (its schema and column order) for one trust."""

    def validate(self, cells: Sequence[str]) -> Administration | list[Problem]:
        """The row's record, or every problem with it."""
        return self.accept(cells) or self.problems(cells)

    def accept(self, c: Sequence[str]) -> Administration | None:
        """The record of a row every rule accepts, else None so that `problems` names them (the fast path)."""
        if len(c) != self.width:
            return None
        drug_at, cycle_at, given_at, oral_at, cycle_start_at, final_at = self._hot
        # a regimen's rows repeat its patient and regimen-level items: checked once
        key = c[: self.leading] if self.leading else self._regimen_key(c)
        last, regimen = self._last
        if key != last:  # not of the regimen of the row before (compared in C, nothing hashed)
            regimen = self._regimens.get(known_key := tuple(key)) or self._regimen_of(c, known_key)
            if regimen is None:
                return None
            self._last = (key, regimen)
        assert regimen is not None  # the row before's regimen was a good one, or it was not kept
        drugs, dates, stamps = self._lookups
        raw = c[drug_at]
        drug = drugs.get(raw) or self.drug(raw)
        raw_cycle = c[cycle_at]
        if drug is None or drug is UNKNOWN_DRUG or not raw_cycle.isdigit():
            return None
        # the cache first (a date object is truthy); to_date parses, caches, and answers None if invalid
        to_date, known = self.to_date, dates.get
        infusion = c[given_at] if given_at is not None else ""
        if oral_at is None:  # v3.0's administration date, or a v4.0 file of infusions only
            dispensed = False
            if self._timestamps:
                given = stamps.get(infusion) or self.to_day(infusion)
            else:
                given = known(infusion) or to_date(infusion)
        else:  # v4.0: the infusion's timestamp (item 80) or the day an oral drug was dispensed (item 81)
            raw = c[oral_at]
            dispensed = raw != ""
            if dispensed:
                given = (known(raw) or to_date(raw)) if infusion == "" else None
            else:
                given = (stamps.get(infusion) or self.to_day(infusion)) if infusion else None
        if given is None or not raw_cycle.isascii():
            return None
        cycle = int(raw_cycle)
        raw = c[cycle_start_at] if cycle_start_at is not None else ""
        cycle_start = (known(raw) or to_date(raw)) if raw else (None if self._cycle_start_required else given)
        raw = c[final_at] if final_at is not None else ""
        final = (known(raw) or to_date(raw)) if raw else None
        if cycle_start is None or (raw and final is None) or cycle > self._cycle_max:
            return None
        # the cycle- and drug-level items: most rows repeat those of one of the last few (a regimen's drugs
        # alternate), found by comparing in C; else each value checked
        values = self._row_values(c)
        recent = self._recent
        if values == recent[0]:  # the row before's (one drug at a time)
            facts = self._recent_facts[0]
        elif values in recent:
            facts = self._recent_facts[recent.index(values)]
        else:
            facts = self._row_facts(c, values)
        if facts is None:
            return None
        cycles, length, reasons = facts
        patient, provider, regimen_start = regimen
        if reasons and self._final_from_reasons:
            final = given
        if (
            given > self.today
            or given < regimen_start
            or cycle_start < regimen_start
            or (final is not None and final < regimen_start)
        ):
            return None
        nhs = nhs_digits(c[self._nhs]) if drug.listed else None  # kept for an unapproved use's case
        record = (provider, patient, drug.key, drug.listed, regimen_start, cycle, cycle_start, given, final)
        # tuple.__new__: an Administration's own __new__ (a NamedTuple's) is a Python call, a microsecond a row
        return new_administration(Administration, (*record, reasons, cycles, length, dispensed, nhs))

    def _regimen_of(self, c: Sequence[str], key: tuple[str, ...]) -> RegimenFacts | None:
        """The regimen-level facts of a row whose regimen-level values are not yet known good: patient,
        provider and start of the regimen after the date of birth, its items and choices checked; None when
        one is wrong."""
        patient = self.patient_ref(c[self._nhs])
        provider = self.provider(c[self._provider])
        born, regimen_start = self.to_date(c[self._born]), self.to_date(c[self._start])
        if patient is None or not provider or born is None or regimen_start is None or regimen_start < born:
            return None
        columns = self._regimen_columns
        if not columns.all_fine(columns.values(c)):
            return None
        for a, b, exactly_one in self._pairs:
            filled = (c[a].strip() != "") + (b != a and c[b].strip() != "")
            if not filled or (exactly_one and filled > 1):
                return None
        if len(self._regimens) >= ROWS_REMEMBERED:
            self._regimens.clear()
        regimen = self._regimens[key] = RegimenFacts(patient, provider, regimen_start)
        return regimen

    def _row_facts(self, c: Sequence[str], values: tuple[str, ...]) -> RowFacts | None:
        """For cycle- and drug-level values not among the last rows': each checked (and remembered), and what
        they say (cycles covered, cycle length, stop reasons); None when one is wrong."""
        if not self._row_columns.all_fine(values):
            return None
        cycles = int(raw) if self._cycles is not None and (raw := c[self._cycles].strip()) else 1
        length = int(raw) if self._length is not None and (raw := c[self._length].strip()) else None
        if cycles > 1 and length is None:
            return None
        facts = RowFacts(cycles, length, self.reasons(c))
        self._recent.insert(0, values)
        self._recent_facts.insert(0, facts)
        if len(self._recent) > RECENT_ROWS:
            del self._recent[-1], self._recent_facts[-1]
        return facts
