"""What a spend forecast (domain.forecast) is made from, for one trust x list entry: the treatments SACT
shows, the approvals not yet started, the approvals still to come (`NewApprovals`, learnt in
`forecast_basis`), how the entry's cycles are spaced (`CyclePattern`), the share of approvals that
start, and how many months of the year the trust's SACT covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from casework.financial_year import financial_year_of, fy_end, fy_start

DEFAULT_START_RATE = 0.9  # share of approvals that start, when there is no history yet


@dataclass(frozen=True)
class Treatment:
    """A started treatment as SACT shows it, cycles keyed by the day they were given (a dispensed pack:
    all its cycles on its day), with the start and length (v4.0 item 82) of the latest cycle SACT
    reported when known."""

    start: date
    stop: date | None  # date of final treatment; None while still on treatment
    cycles_by_month: Mapping[date, int] = field(default_factory=dict)
    last_cycle_start: date | None = None  # the latest cycle SACT reported (a dispensed pack: its last one)
    cycle_length_days: int | None = None  # that cycle's length as SACT gave it (v4.0 item 82)


@dataclass(frozen=True)
class PendingApproval:
    """Approved, not yet started."""

    planned_start: date


@dataclass(frozen=True)
class NewApprovals:
    """Approvals of the trust and entry not made yet: expected per day the entry takes approvals, the
    variance of that estimate, and the days from an approval to its first administration."""

    per_day: float
    per_day_variance: float = 0.0
    start_lag_days: int = 14


@dataclass(frozen=True)
class CyclePattern:
    """How an entry's cycles are spaced in SACT: the mean days from one to the next (delays included), and
    `longer_gaps[g]`, the share of gaps between consecutive cycles longer than g days (none longer than
    the table). Without a table every gap up to a cycle length + four weeks is possible."""

    interval: float
    longer_gaps: tuple[float, ...] = ()

    def gap_longer_than(self, days: int) -> float:
        if not self.longer_gaps:
            return 1.0 if days <= self.interval + 28 else 0.0
        return self.longer_gaps[days] if 0 <= days < len(self.longer_gaps) else float(days < 0)


def historical_start_rate(started: int, resolved: int, default: float = DEFAULT_START_RATE) -> float:
    """Share of resolved approvals (started, lapsed or withdrawn) that started; `default` with no history."""
    if started < 0 or resolved < started:
        raise ValueError("need 0 <= started <= resolved")
    return default if resolved == 0 else started / resolved


def months_covered(sact_to: date, financial_year: str) -> int:
    """Months of the financial year the trust's SACT reaches into (0 before the year starts)."""
    if sact_to < fy_start(financial_year):
        return 0
    return financial_year_of(min(sact_to, fy_end(financial_year))).month
