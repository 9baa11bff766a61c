"""Validating SACT rows one at a time, for one version's schema: a row is accepted whole (one
Administration) or rejected with every one of its problems.

Every problem of a row is reported: each value is checked against its data item (type, length, code
list, mandatory), and the checks across fields (dates in order, one of items 80 and 81, a multi-cycle
row's cycle length) run on whatever values could be read, even when another field of the row failed.

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

import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import date
from itertools import compress
from operator import itemgetter, not_
from typing import NamedTuple, TypeVar

from casework.identifiers import nhs_number_check_digit
from cdf_service.domain.sact_rows import Administration, Drug, DrugDictionary
from cdf_service.domain.sact_values import Check, check_for, parse_date, parse_timestamp, whole
from cdf_service.domain.stop_reasons import BIT
from cdf_service.sact_schema import DataItem, HeaderError, ItemType, Problem, Role, SactSchema, header_problems

# the items whose columns every SACT version's header must have (the header check refuses a file without)
REQUIRED_ROLES = (
    Role.NHS_NUMBER,
    Role.PROVIDER,
    Role.BIRTH_DATE,
    Role.REGIMEN_START,
    Role.DRUG_NAME,
    Role.CYCLE_NUMBER,
)
CACHE_LIMIT = 200_000  # entries per cache; cleared when full so memory stays bounded
ROWS_REMEMBERED = 512  # regimens (their regimen-level values) of recent good rows: a regimen's rows come together
RECENT_ROWS = 4  # the last rows' cycle- and drug-level values compared first (a regimen's drugs alternate)
_OWN_RULES = frozenset(
    {
        Role.NHS_NUMBER,
        Role.BIRTH_DATE,
        Role.PROVIDER,
        Role.REGIMEN_START,
        Role.CYCLE_NUMBER,
        Role.CYCLE_START,
        Role.DRUG_NAME,
        Role.ADMINISTERED,
        Role.DISPENSED,
        Role.FINAL_TREATMENT,
    }
)  # checked by the validator's own rules; every other item by its type, length and codes
_UNKNOWN_DRUG = Drug("", False)  # cache marker: a name that is not a known drug
_contains = set.__contains__
_administration = tuple.__new__  # an Administration made from a tuple of its fields, in C
T = TypeVar("T")


class _Column:
    """A column checked by its data item: the values already found well formed are remembered."""

    def __init__(self, index: int, item: DataItem) -> None:
        self.index = index
        self.item = item
        self.check: Check = check_for(item)
        self.fine: set[str] = set() if item.mandatory else {""}

    def reason(self, raw: str) -> str | None:
        if not raw.strip():
            return "is required" if self.item.mandatory else None
        return self.check(raw)

    def learn(self, raw: str) -> bool:
        if self.reason(raw) is not None:
            return False
        if len(self.fine) >= CACHE_LIMIT:
            self.fine.clear()
            if not self.item.mandatory:
                self.fine.add("")
        self.fine.add(raw)
        return True


class _Columns:
    """Columns checked by their items, looked at together: one C-level pass tells whether every value is
    one already found well formed."""

    def __init__(self, columns: list[_Column]) -> None:
        self.columns = columns
        self.fine = [column.fine for column in columns]
        self.values = _getter([column.index for column in columns])

    def all_fine(self, values: Sequence[str]) -> bool:
        """Every value well formed (the new ones checked and remembered)."""
        if all(map(_contains, self.fine, values)):
            return True
        columns = self.columns
        unknown = compress(range(len(columns)), map(not_, map(_contains, self.fine, values)))
        return all(columns[i].learn(values[i]) for i in unknown)


def _remember(cache: dict[str, T], raw: str, value: T) -> T:
    """`value` cached for `raw` (the cache cleared when full, so memory stays bounded)."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[raw] = value
    return value


def _hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 after the key's inner and outer pads: an HMAC is then two copies, two updates (hmac.new
    would pad the key again for each of a file's hundred thousand patients)."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return hashlib.sha256(block.translate(hmac.trans_36)), hashlib.sha256(block.translate(hmac.trans_5C))


def _getter(positions: Sequence[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    if len(positions) > 1:
        return itemgetter(*positions)
    return (lambda cells: (cells[positions[0]],)) if positions else (lambda cells: ())


class _Regimen(NamedTuple):
    """What a row's regimen-level values say, the same on every row of the regimen."""

    patient_ref: str
    provider: str
    regimen_start: date


ROW_SECTIONS = frozenset({"cycle", "drug details", "outcome"})  # the rest is the same on a regimen's rows


class RowValidator:
    """Validates rows of one file (its schema and column order) for one trust."""

    def __init__(
        self,
        schema: SactSchema,
        columns: Sequence[str],
        trust_ods: str,
        drugs: DrugDictionary,
        patient_ref_key: str | bytes,
        today: date,
    ) -> None:
        if problems := header_problems(schema, columns):
            raise HeaderError(problems, schema)
        self.schema = schema
        self.width = len(columns)
        self.index = {name: i for i, name in enumerate(columns)}
        self.trust = trust_ods
        self.drugs = drugs
        self.key = patient_ref_key.encode() if isinstance(patient_ref_key, str) else patient_ref_key
        self._hmac = _hmac_pads(self.key)
        self.today = today
        self._refs: dict[str, str | None] = {}
        self._dates: dict[str, date | None] = {}
        self._stamps: dict[str, date | None] = {}
        self._drug_names: dict[str, Drug] = {}
        self._providers: dict[str, str] = {}
        self._lookups = (self._drug_names, self._dates, self._stamps)
        self._locate(schema, columns)

    def _locate(self, schema: SactSchema, columns: Sequence[str]) -> None:
        """Column positions of what the rules read (None when the file has no such column)."""
        at = {role: self.index.get(item.header) for role, item in schema.by_role.items()}
        self.positions = at

        def required(role: Role) -> int:  # the header check has made sure every file has these
            return self.index[schema.by_role[role].header]

        self.required = {role: required(role) for role in REQUIRED_ROLES}  # positions of the columns every file has
        self._nhs, self._provider = required(Role.NHS_NUMBER), required(Role.PROVIDER)
        self._born, self._start = required(Role.BIRTH_DATE), required(Role.REGIMEN_START)
        self._drug, self._cycle = required(Role.DRUG_NAME), required(Role.CYCLE_NUMBER)
        self._hot = (
            self._drug,
            self._cycle,
            at.get(Role.ADMINISTERED),
            at.get(Role.DISPENSED),
            at.get(Role.CYCLE_START),
            at.get(Role.FINAL_TREATMENT),
        )
        self._timestamps = schema.by_role[Role.ADMINISTERED].type is ItemType.TIMESTAMP
        self._cycle_start = at.get(Role.CYCLE_START)
        self._given, self._dispensed = at.get(Role.ADMINISTERED), at.get(Role.DISPENSED)
        self._final = at.get(Role.FINAL_TREATMENT)
        self._cycles, self._length = at.get(Role.CYCLES_GIVEN), at.get(Role.CYCLE_LENGTH)
        self._cycle_max = (schema.by_role[Role.CYCLE_NUMBER].limits or (0, 999))[1]
        self._cycle_start_required = schema.by_role[Role.CYCLE_START].mandatory
        self._final_from_reasons = schema.final_from_reasons
        self.item_columns = [
            _Column(i, schema.by_header[name])
            for i, name in enumerate(columns)
            if schema.by_header[name].role not in _OWN_RULES
        ]
        self._regimen_columns = _Columns([c for c in self.item_columns if c.item.section not in ROW_SECTIONS])
        self._row_columns = _Columns([c for c in self.item_columns if c.item.section in ROW_SECTIONS])
        self._row_values = self._row_columns.values
        own = (self._nhs, self._provider, self._born, self._start)
        regimen_level = [*own, *(c.index for c in self._regimen_columns.columns)]
        self.regimen_level = regimen_level  # positions of the values every row of a regimen repeats
        self._regimen_key = _getter(regimen_level)
        # a file in the schema's order begins with the regimen-level values: they are then the row's first
        # `leading` cells, taken as one slice (and shared with the row before by records.rows_of)
        self.leading = len(regimen_level) if sorted(regimen_level) == list(range(len(regimen_level))) else 0
        self._regimens: dict[tuple[str, ...], _Regimen] = {}
        self._last: tuple[Sequence[str] | None, _Regimen | None] = (None, None)
        # the last rows' cycle- and drug-level values, newest first, and their facts; (None,) matches no row
        self._recent: list[tuple[str | None, ...]] = [(None,)]
        self._recent_facts: list[_Facts | None] = [None]
        administration = {Role.ADMINISTERED, Role.DISPENSED}
        self.choices = [
            (choice, [self.index[h] for h in schema.choice_headers(choice) if h in self.index])
            for choice in schema.choices
            if not administration.intersection(schema.by_number[n].role for n in choice.items)
        ]
        self._pairs = [(*(positions + positions)[:2], choice.exactly_one) for choice, positions in self.choices]
        regimen_positions = {c.index for c in self._regimen_columns.columns}
        assert all(set(positions) <= regimen_positions for _, positions in self.choices), "choices are per regimen"
        self._reasons: list[tuple[int, DataItem, dict[str, int]]] = [
            (self.index[item.header], item, {}) for item in schema.reason_items if item.header in self.index
        ]

    # -- cached conversions ---------------------------------------------------------------------

    def patient_ref(self, raw: str) -> str | None:
        """HMAC of a valid NHS number (None if invalid); cached, since a patient has many rows."""
        ref = self._refs.get(raw, "")
        return ref if ref != "" else _remember(self._refs, raw, self._ref_of(raw))

    def _ref_of(self, raw: str) -> str | None:
        digits = nhs_digits(raw)
        valid = len(digits) == 10 and digits.isdigit() and nhs_number_check_digit(digits[:9]) == int(digits[9])
        if not valid:
            return None
        inner, outer = self._hmac[0].copy(), self._hmac[1].copy()  # HMAC-SHA256 (RFC 2104) of the key's pads
        inner.update(digits.encode())
        outer.update(inner.digest())
        return outer.hexdigest()

    def to_date(self, raw: str) -> date | None:
        try:
            return self._dates[raw]
        except KeyError:
            return _remember(self._dates, raw, parse_date(raw))

    def to_day(self, raw: str) -> date | None:
        """The day of an infusion timestamp (v4.0 item 80)."""
        try:
            return self._stamps[raw]
        except KeyError:
            return _remember(self._stamps, raw, parse_timestamp(raw))

    def drug(self, raw: str) -> Drug | None:
        found = self._drug_names.get(raw)
        if found is None:
            found = _remember(self._drug_names, raw, self.drugs.by_name.get(raw.strip().lower(), _UNKNOWN_DRUG))
        return found if found is not _UNKNOWN_DRUG else None

    def provider(self, raw: str) -> str:
        """The trust's ODS code when `raw` names it or one of its sites, else ""; cached."""
        found = self._providers.get(raw)
        if found is None:
            code = raw.strip().upper()
            found = _remember(
                self._providers, raw, code[:3] if code.startswith(self.trust) and len(code) in (3, 5) else ""
            )
        return found

    def reasons(self, cells: Sequence[str]) -> int | None:
        """The stop reasons a row gives (domain.stop_reasons mask), None for none; its codes are valid."""
        mask = 0
        for i, item, known in self._reasons:
            if raw := cells[i]:
                found = known.get(raw)
                mask |= found if found is not None else self.reason_mask(item, raw)
        return mask or None

    def reason_mask(self, item: DataItem, raw: str) -> int:
        """The stop reasons one value of a reason item gives (0 for none); remembered per item."""
        known = next(known for _, reasons_item, known in self._reasons if reasons_item is item)
        found = known.get(raw)
        if found is None:
            assert item.reasons is not None
            found = 0
            for code in raw.split(","):
                if (reason := item.reasons.get(code.strip())) is not None:
                    found |= BIT[reason]
            known[raw] = found
        return found

    # -- the row --------------------------------------------------------------------------------

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
        if drug is None or drug is _UNKNOWN_DRUG or not raw_cycle.isdigit():
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
        return _administration(Administration, (*record, reasons, cycles, length, dispensed, nhs))

    def _regimen_of(self, c: Sequence[str], key: tuple[str, ...]) -> _Regimen | None:
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
        regimen = self._regimens[key] = _Regimen(patient, provider, regimen_start)
        return regimen

    def _row_facts(self, c: Sequence[str], values: tuple[str, ...]) -> _Facts | None:
        """For cycle- and drug-level values not among the last rows': each checked (and remembered), and what
        they say (cycles covered, cycle length, stop reasons); None when one is wrong."""
        if not self._row_columns.all_fine(values):
            return None
        cycles = int(raw) if self._cycles is not None and (raw := c[self._cycles].strip()) else 1
        length = int(raw) if self._length is not None and (raw := c[self._length].strip()) else None
        if cycles > 1 and length is None:
            return None
        facts = _Facts(cycles, length, self.reasons(c))
        self._recent.insert(0, values)
        self._recent_facts.insert(0, facts)
        if len(self._recent) > RECENT_ROWS:
            del self._recent[-1], self._recent_facts[-1]
        return facts

    # -- every problem of a row (the slow path) --------------------------------------------------

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
        return _administration(Administration, (*record, reasons, cycles, length, dispensed, nhs))

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


class _Facts(NamedTuple):
    cycles: int
    cycle_length_days: int | None
    stop_reasons: int | None


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


def nhs_digits(raw: str) -> str:
    """An NHS number as stored: its ten digits without the spaces or dashes a file may give."""
    return raw.replace(" ", "").replace("-", "")
