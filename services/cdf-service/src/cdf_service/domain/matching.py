"""Matching SACT administrations of one patient and one listed drug at one trust to that patient's approvals.

A regimen (SACT's START_DATE_OF_REGIMEN) is the unit of treatment. An approval claims the earliest
unclaimed regimen whose first administration falls in its start window: from `early_days` before the
planned start to the lapse due date (an administration before the planned start counts: treatment
simply began early; one after the lapse due date does not revive the approval). An approval that has
already started keeps the regimen its recorded first administration belongs to (the latest regimen
started on or before that day), even when an earlier cycle of it arrives in a later submission: the
regimen's first administration is then earlier than the recorded one, and the caller corrects it.
Every regimen no approval claims is unapproved use.

A row may cover several cycles (SACT v4.0 item 83: an oral drug dispensed for three cycles at once):
they are its cycle number and the next ones, each item 82 (cycle length) days after the one before,
all given on the row's day. The regimen's final treatment is its latest reported one, with every
reason the rows reporting it gave.

The result is a description; the caller applies it once (state transitions and unique keys in the
database make a second application of the same data a no-op).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

CLAIMING_STATES = frozenset({"approved", "treatment_started", "treatment_stopped", "withdrawn"})


@dataclass(frozen=True)
class ApprovalView:
    approval_id: str
    status: str
    planned_start: date
    lapse_due: date
    first_administration: date | None  # set once SACT showed the start


@dataclass(frozen=True)
class Given:
    """One distinct administration (or dispensing) of the drug, as SACT reported it."""

    regimen_start: date
    cycle_number: int
    cycle_start: date
    administration_date: date
    final_treatment_date: date | None
    stop_reasons: int | None  # domain.stop_reasons mask
    cycles: int = 1  # cycles the row covers, from its cycle number on
    cycle_length_days: int | None = None
    dispensed: bool = False


class GivenCycle(NamedTuple):
    number: int
    start: date
    given_on: date  # the day it was given (dispensed, for an oral drug)
    length_days: int | None
    dispensed: bool


@dataclass(frozen=True)
class Regimen:
    start: date
    first_administration: date
    cycles: tuple[GivenCycle, ...]  # by cycle number
    final_treatment_date: date | None
    stop_reasons: int | None
    first_dispensed: bool = False  # the first administration was a dispensing (oral drug)


@dataclass(frozen=True)
class Treatment:
    """What SACT says about the treatment under one approval."""

    approval_id: str
    regimen: Regimen


@dataclass(frozen=True)
class MatchResult:
    treatments: tuple[Treatment, ...]
    unapproved: tuple[Regimen, ...]


def regimens(given: Iterable[Given]) -> list[Regimen]:
    """Administrations grouped by regimen, earliest first; duplicates across submissions collapse."""
    by_start: dict[date, list[Given]] = {}
    for g in given:
        by_start.setdefault(g.regimen_start, []).append(g)
    return sorted((_regimen(start, items) for start, items in by_start.items()), key=lambda r: r.first_administration)


def _regimen(start: date, items: Sequence[Given]) -> Regimen:
    cycles: dict[int, GivenCycle] = {}
    for cycle in (c for g in items for c in covered(g)):
        known = cycles.get(cycle.number)
        if known is None or (cycle.start, cycle.given_on) < (known.start, known.given_on):
            cycles[cycle.number] = cycle
    final = max((g.final_treatment_date for g in items if g.final_treatment_date is not None), default=None)
    reasons = 0
    for g in items:
        if final is not None and g.final_treatment_date == final:
            reasons |= g.stop_reasons or 0
    first = min(items, key=lambda g: (g.administration_date, g.dispensed))
    return Regimen(
        start=start,
        first_administration=first.administration_date,
        cycles=tuple(cycles[n] for n in sorted(cycles)),
        final_treatment_date=final,
        stop_reasons=reasons or None,
        first_dispensed=first.dispensed,
    )


def covered(given: Given) -> list[GivenCycle]:
    """The cycles one row covers: its cycle number and, with item 83 above 1, the next ones, each a cycle
    length after the one before."""
    step = timedelta(days=given.cycle_length_days or 0)
    return [
        GivenCycle(
            given.cycle_number + k,
            given.cycle_start + k * step,
            given.administration_date,
            given.cycle_length_days,
            given.dispensed,
        )
        for k in range(given.cycles)
    ]


def start_window(approval: ApprovalView, early_days: int) -> tuple[date, date]:
    return approval.planned_start - timedelta(days=early_days), approval.lapse_due


def match(approvals: Iterable[ApprovalView], given: Iterable[Given], early_days: int) -> MatchResult:
    pending = regimens(given)
    treatments: list[Treatment] = []
    ordered = sorted(approvals, key=lambda a: (a.first_administration is None, a.planned_start, a.approval_id))
    for approval in ordered:
        if approval.status not in CLAIMING_STATES:
            continue
        regimen = _claim(approval, pending, early_days)
        if regimen is not None:
            pending.remove(regimen)
            treatments.append(Treatment(approval.approval_id, regimen))
    return MatchResult(tuple(treatments), tuple(pending))


def _claim(approval: ApprovalView, pending: Sequence[Regimen], early_days: int) -> Regimen | None:
    if approval.first_administration is not None:  # started before: keep that regimen
        return regimen_of(approval.first_administration, pending)
    if approval.status != "approved":  # withdrawn before starting: claims nothing
        return None
    opens, due = start_window(approval, early_days)
    return next((r for r in pending if opens <= r.first_administration <= due), None)


def regimen_of(day: date, pending: Sequence[Regimen]) -> Regimen | None:
    """The regimen an administration on `day` belongs to: the latest one started on or before it
    (SACT rows give each administration its regimen's start, never after the administration)."""
    return max((r for r in pending if r.start <= day), key=lambda r: r.start, default=None)
