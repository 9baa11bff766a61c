"""The national CDF list: drug + indication entries with their prior-approval criteria, versioned by date.

An entry never changes in place. A change (price, criteria, closure) makes a new version whose
`effective_from` closes the previous version, so an approval can always be audited against the
version that was in force when it was decided.

Date conventions (kept in one place because the API and database must agree):
- `effective_from`/`effective_to` form a half-open interval [from, to): the next version's
  `effective_from` equals the previous version's `effective_to`, so no day is in two versions.
- `managed_access_start`/`managed_access_end` are business dates and both are inclusive:
  an entry whose managed access ends on 31 March is still open on 31 March.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from casework.identifiers import is_valid_snomed_id

DEFAULT_LAPSE_WINDOW_DAYS = 28  # DOMAIN default: no SACT administration within 28 days -> lapse


class EntryStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class InvalidListEntry(ValueError):
    """A list entry (or a change to one) breaks a rule; `problems` lists each broken rule."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class VersionConflict(ValueError):
    """A new version cannot follow the given one (it is already superseded, or dates go backwards)."""


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str
    mandatory: bool = True


@dataclass(frozen=True, kw_only=True)
class ListEntry:
    entry_id: str
    version: int
    drug_name: str
    dmd_id: str
    indication: str
    regimen: str
    criteria: tuple[Criterion, ...]
    cost_per_cycle: Decimal
    cycle_length_days: int
    expected_cycles: int
    managed_access_start: date
    managed_access_end: date | None
    status: EntryStatus
    lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS
    # Further dm+d ids of the same drug (VMPs / AMPs of each strength): SACT rows may carry any of them.
    other_dmd_ids: tuple[str, ...] = ()
    effective_from: date
    effective_to: date | None = None

    def __post_init__(self) -> None:
        problems = entry_problems(self)
        if problems:
            raise InvalidListEntry(problems)

    @property
    def criterion_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.criteria)

    @property
    def dmd_ids(self) -> tuple[str, ...]:
        return (self.dmd_id, *self.other_dmd_ids)

    @property
    def expected_cost(self) -> Decimal:
        """What one approval is expected to cost: the commitment a contract records."""
        return self.cost_per_cycle * self.expected_cycles

    @property
    def expected_duration_days(self) -> int:
        """Expected time on treatment: the fallback when SACT history is too thin for a curve."""
        return self.expected_cycles * self.cycle_length_days


def entry_problems(entry: ListEntry) -> list[str]:
    """Every rule the entry breaks (empty when valid); collected so one 422 can name them all."""
    problems: list[str] = []
    if entry.version < 1:
        problems.append("version must be 1 or more")
    if not is_valid_snomed_id(entry.dmd_id):
        problems.append(f"dmd_id {entry.dmd_id!r} is not a valid SNOMED CT / dm+d id")
    problems.extend(
        f"other_dmd_ids: {value!r} is not a valid SNOMED CT / dm+d id"
        for value in entry.other_dmd_ids
        if not is_valid_snomed_id(value)
    )
    if not entry.criteria:
        problems.append("an entry needs at least one criterion")
    if entry.cost_per_cycle < 0:
        problems.append("cost_per_cycle must not be negative")
    if entry.cycle_length_days < 1:
        problems.append("cycle_length_days must be 1 or more")
    if entry.expected_cycles < 1:
        problems.append("expected_cycles must be 1 or more")
    if entry.lapse_window_days < 0:
        problems.append("lapse_window_days must not be negative")
    if entry.managed_access_end is not None and entry.managed_access_end < entry.managed_access_start:
        problems.append("managed_access_end is before managed_access_start")
    if entry.effective_to is not None and entry.effective_to <= entry.effective_from:
        problems.append("effective_to must be after effective_from")
    codes = [c.code for c in entry.criteria]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        problems.append(f"duplicate criterion codes: {', '.join(duplicates)}")
    return problems


def in_force_on(entry: ListEntry, day: date) -> bool:
    """Whether this version is the one in force on `day` (half-open effective interval)."""
    return entry.effective_from <= day and (entry.effective_to is None or day < entry.effective_to)


def entry_as_of(versions: Iterable[ListEntry], day: date) -> ListEntry | None:
    """The version of one entry in force on `day`, or None before the first / after a final close.

    Versions made with `next_version` never overlap; if stored data does overlap anyway, the highest
    version number wins, because it is the latest decision about the entry.
    """
    candidates = list(versions)
    entry_ids = {v.entry_id for v in candidates}
    if len(entry_ids) > 1:
        raise ValueError(f"versions of more than one entry given: {sorted(entry_ids)}")
    in_force = [v for v in candidates if in_force_on(v, day)]
    return max(in_force, key=lambda v: v.version, default=None)


def is_open_on(entry: ListEntry, day: date) -> bool:
    """Open for new applications on `day`: status open and inside the managed access window."""
    if entry.status is not EntryStatus.OPEN:
        return False
    if day < entry.managed_access_start:
        return False
    return entry.managed_access_end is None or day <= entry.managed_access_end


_VERSION_FIELDS = frozenset({"entry_id", "version", "effective_from", "effective_to"})


def next_version(current: ListEntry, changes: Mapping[str, Any], effective_from: date) -> tuple[ListEntry, ListEntry]:
    """(the current version closed at `effective_from`, the new version starting that day).

    Only the latest, open-ended version can be followed, so history is a single chain.
    """
    if current.effective_to is not None:
        raise VersionConflict(
            f"entry {current.entry_id} version {current.version} is already superseded "
            f"from {current.effective_to.isoformat()}"
        )
    if effective_from <= current.effective_from:
        raise VersionConflict(
            f"new version must start after {current.effective_from.isoformat()} "
            f"(the current version's start), got {effective_from.isoformat()}"
        )
    known = {f.name for f in dataclasses.fields(ListEntry)}
    bad = sorted(set(changes) - (known - _VERSION_FIELDS))
    if bad:
        raise InvalidListEntry([f"cannot change field {name!r}" for name in bad])
    closed = dataclasses.replace(current, effective_to=effective_from)
    new = dataclasses.replace(
        current, **changes, version=current.version + 1, effective_from=effective_from, effective_to=None
    )
    return closed, new


def close_entry(current: ListEntry, effective_from: date) -> tuple[ListEntry, ListEntry]:
    """Close the entry to new applications from `effective_from` (e.g. NICE re-appraisal done).

    Patients already approved keep treatment; only new applications are refused.
    """
    return next_version(current, {"status": EntryStatus.CLOSED}, effective_from)


class EntryTerms:
    """What one entry's versions say about each day: the cost per cycle in force, and whether it takes
    new approvals (status open and inside managed access). Built from the versions known now, so a
    price change or a closure announced in advance counts from its day; before the first version the
    first applies, after the last the last."""

    def __init__(self, versions: Iterable[ListEntry]) -> None:
        chain = sorted(versions, key=lambda v: (v.effective_from, v.version))
        if not chain:
            raise ValueError("an entry needs at least one version")
        self.versions = tuple(chain)
        self._starts = tuple(v.effective_from for v in chain)
        self._costs = tuple(float(v.cost_per_cycle) for v in chain)
        self._open = tuple(_approval_spans(chain))

    @classmethod
    def of(cls, entry: ListEntry) -> EntryTerms:
        return cls([entry])

    def cost_on(self, day: date) -> float:
        if len(self._costs) == 1:
            return self._costs[0]
        return self._costs[max(0, bisect.bisect_right(self._starts, day) - 1)]

    def decimal_cost_on(self, day: date) -> Decimal:
        if len(self.versions) == 1 or day < self._starts[1]:
            return self.versions[0].cost_per_cycle
        return self.versions[max(0, bisect.bisect_right(self._starts, day) - 1)].cost_per_cycle

    def approval_spans(self) -> tuple[tuple[date, date], ...]:
        """The inclusive day spans on which the entry takes new approvals."""
        return self._open

    def approval_days(self, first: date, last: date) -> int:
        """How many days of [first, last] the entry takes new approvals."""
        days = 0
        for opens, closes in self._open:
            start, end = max(first, opens), min(last, closes)
            if start <= end:
                days += (end - start).days + 1
        return days


def _approval_spans(chain: Sequence[ListEntry]) -> Iterator[tuple[date, date]]:
    """Inclusive day spans on which each version is in force and open for applications."""
    for version, following in zip(chain, [*chain[1:], None], strict=True):
        if version.status is not EntryStatus.OPEN:
            continue
        start = max(version.effective_from, version.managed_access_start)
        end = date.max if following is None else following.effective_from - timedelta(days=1)
        if version.managed_access_end is not None:
            end = min(end, version.managed_access_end)
        if start <= end:
            yield start, end
