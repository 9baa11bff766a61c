"""What a national database would hold of the backtest's synthetic CDF history, and what to generate:
the plan (seed, years, trusts, entries, scale), each list version with the day the list first showed it,
each approval with everything later recorded about it (cycles, withdrawal, stop, each with the day it
became known), each trust's first SACT submission for a month; and the history's calendar (its months,
a month later, a day between two). The processes that make them are backtest.history's.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta

from casework.financial_year import month_start
from cdf_service.domain.national_list import ListEntry

GENERATOR = "cdf_service.backtest.history"  # named in a stored backtest's data: the module of national_history


@dataclass(frozen=True)
class HistoryPlan:
    """What to generate. The defaults are the national history the README's figures come from."""

    seed: int = 1
    first_fy: int = 2020  # April of this year
    years: int = 6
    trusts: int = 24
    entries: int = 36  # drug + indication entries, made from the seed list's drugs in turn
    scale: float = 1.0  # multiplies every approval rate (a smaller history for tests)

    @property
    def start(self) -> date:
        return date(self.first_fy, 4, 1)

    @property
    def end(self) -> date:
        return date(self.first_fy + self.years, 3, 31)


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """A list entry version and the day the list first showed it."""

    entry: ListEntry
    published: date


@dataclass(frozen=True, slots=True)
class CycleRecord:
    day: date  # the cycle's administration
    submitted: date  # the SACT submission that brought it


@dataclass(frozen=True, slots=True)
class HistoricApplication:
    """An approval and everything later recorded about it, each with the day it became known."""

    number: int
    trust: str
    entry_id: str
    decided: date  # approved (and known) that day
    planned_start: date
    withdrawn: date | None  # withdrawn that day, before starting
    cycles: tuple[CycleRecord, ...]  # in date order; empty if it never started
    stop: date | None  # date of final treatment; None while on treatment at the history's end
    stop_submitted: date | None


@dataclass(frozen=True, slots=True)
class SactMonth:
    """A trust's first submission for a month (the period); partial months are completed later."""

    trust: str
    period: date  # first day of the month
    submitted: date


@dataclass(frozen=True)
class NationalHistory:
    plan: HistoryPlan
    trusts: tuple[str, ...]
    versions: tuple[PublishedVersion, ...]
    applications: tuple[HistoricApplication, ...]
    submissions: tuple[SactMonth, ...]

    @property
    def cycles(self) -> int:
        return sum(len(a.cycles) for a in self.applications)

    def fingerprint(self) -> str:
        """SHA-256 over every record, so a stored backtest names exactly the data it ran on."""
        digest = hashlib.sha256(repr(self.plan).encode())
        for v in self.versions:
            digest.update(f"{v.entry.entry_id},{v.entry.version},{v.entry.effective_from},{v.published},".encode())
            digest.update(f"{v.entry.cost_per_cycle},{v.entry.managed_access_end},{v.entry.status}".encode())
        for a in self.applications:
            digest.update(f"{a.trust},{a.entry_id},{a.decided},{a.planned_start},{a.withdrawn},{a.stop},".encode())
            digest.update(f"{a.stop_submitted},{[(c.day, c.submitted) for c in a.cycles]}".encode())
        for s in self.submissions:
            digest.update(f"{s.trust},{s.period},{s.submitted}".encode())
        return digest.hexdigest()

    def describe(self) -> dict[str, object]:
        """On what data a backtest ran (stored with its figures)."""
        return {
            "generator": GENERATOR,
            "seed": self.plan.seed,
            "first_financial_year": f"{self.plan.first_fy}/{(self.plan.first_fy + 1) % 100:02d}",
            "financial_years": self.plan.years,
            "trusts": len(self.trusts),
            "entries": len({v.entry.entry_id for v in self.versions}),
            "list_versions": len(self.versions),
            "applications": len(self.applications),
            "cycles": self.cycles,
            "sact_months": len(self.submissions),
            "fingerprint": self.fingerprint(),
        }


# --- The history's calendar ---------------------------------------------------------------------------


def months_of(start: date, end: date) -> list[date]:
    months, day = [], month_start(start)
    while day <= end:
        months.append(day)
        day = add_months(day, 1)
    return months


def add_months(day: date, n: int) -> date:
    year, month = divmod(day.month - 1 + n, 12)
    return date(day.year + year, month + 1, 1)


def uniform_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
