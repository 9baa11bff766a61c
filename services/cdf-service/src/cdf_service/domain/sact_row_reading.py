"""Reading a SACT row's values for the row rules, for one version's schema and one file's column order:
where each item's column is, the columns checked by their data items (the values already found well
formed remembered), and the cached conversions every rule reads through (a patient's HMAC from the key's
precomputed pads, dates, infusion timestamps, drug names, the provider, stop reasons). The row validator
(domain.sact_validator) and the naming of a row's problems (domain.sact_row_problems) build on it, as
the columnar pass (domain.sact_columns) uses its functions and caches.
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
from cdf_service.domain.sact_rows import Drug, DrugDictionary
from cdf_service.domain.sact_values import Check, check_for, parse_date, parse_timestamp
from cdf_service.domain.stop_reasons import BIT
from cdf_service.sact_schema import DataItem, HeaderError, ItemType, Role, SactSchema, header_problems

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
UNKNOWN_DRUG = Drug("", False)  # cache marker: a name that is not a known drug
_contains = set.__contains__
new_administration = tuple.__new__  # an Administration made from a tuple of its fields, in C
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


class RegimenFacts(NamedTuple):
    """What a row's regimen-level values say, the same on every row of the regimen."""

    patient_ref: str
    provider: str
    regimen_start: date


ROW_SECTIONS = frozenset({"cycle", "drug details", "outcome"})  # the rest is the same on a regimen's rows


class RowFacts(NamedTuple):
    """What a row's cycle- and drug-level values say."""

    cycles: int
    cycle_length_days: int | None
    stop_reasons: int | None


class RowReader:
    """The columns and cached conversions of one file (its schema and column order) for one trust."""

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
        self._regimens: dict[tuple[str, ...], RegimenFacts] = {}
        self._last: tuple[Sequence[str] | None, RegimenFacts | None] = (None, None)
        # the last rows' cycle- and drug-level values, newest first, and their facts; (None,) matches no row
        self._recent: list[tuple[str | None, ...]] = [(None,)]
        self._recent_facts: list[RowFacts | None] = [None]
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
            found = _remember(self._drug_names, raw, self.drugs.by_name.get(raw.strip().lower(), UNKNOWN_DRUG))
        return found if found is not UNKNOWN_DRUG else None

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


def nhs_digits(raw: str) -> str:
    """An NHS number as stored: its ten digits without the spaces or dashes a file may give."""
    return raw.replace(" ", "").replace("-", "")
