"""The trusts of the backtest's synthetic CDF history and what they do: their sizes and the day each
joined the CDF; the approvals of each trust and entry day by day, the courses that follow (planned
start, start, withdrawal or lapse, the cycles given, the stop); and when each trust's SACT data for a
month arrived. The constants are the processes backtest.history's docstring lists.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from casework.financial_year import month_start
from cdf_service.backtest.history_entries import EntryProcess
from cdf_service.backtest.history_records import (
    CycleRecord,
    HistoricApplication,
    HistoryPlan,
    SactMonth,
    add_months,
    uniform_day,
)

# Trusts: real acute trust ODS codes (the history is synthetic; the codes only need to be valid).
TRUST_CODES = (
    "RRV", "RGT", "RTH", "RM1", "RWE", "RBV", "RPY", "RHQ", "RJ1", "RRK", "RA7", "RX1",
    "RTD", "RR8", "RHM", "RJE", "RK9", "RD1", "RH8", "RA9", "RBZ", "RL4", "RQ3", "RWP",
    "RAL", "RXH", "RDE", "RTG", "RWG", "RXW",
)  # fmt: skip
TRUST_SIZE_SIGMA = 0.7
LATE_JOINER_SHARE = 0.2
USUAL_DAY = (3, 17)  # day of month m+1 on which a trust usually submits month m
SUBMISSION_JITTER_DAYS = 3
LATE_SHARES = ((0.7, 0.04), (0.3, 0.20))  # (share of trusts, probability a month comes a month late)
PARTIAL_SHARE, PARTIAL_ROWS = 0.06, (0.4, 0.9)
STOP_RECORDING_DAYS = (0, 21)  # after the next cycle was due

# Approvals
AFFINITY_SIGMA = 0.5
OVERDISPERSION_SHAPE = 10.0
WEEKEND, AUGUST, CHRISTMAS = 0.15, 0.8, 0.3

# Starts and treatment
PLANNED_LAG_SHAPE, PLANNED_LAG_SCALE, PLANNED_LAG_MAX = 2.0, 5.0, 60
WITHDRAWN_SHARE, WITHDRAWN_AFTER_DAYS = 0.45, (3, 35)
EARLY_STOP_CYCLES = ((1, 0.5), (2, 0.3), (3, 0.2))
LONGEST_DAYS = 5 * 365
CYCLE_DELAYS = ((0, 0.78), (7, 0.16), (14, 0.06))


@dataclass(frozen=True)
class Trust:
    ods: str
    size: float
    joined: date
    usual_day: int
    late_share: float


def draw_trusts(rng: random.Random, plan: HistoryPlan) -> list[Trust]:
    if not 1 <= plan.trusts <= len(TRUST_CODES):
        raise ValueError(f"trusts must be 1 to {len(TRUST_CODES)}")
    trusts = []
    for i, ods in enumerate(TRUST_CODES[: plan.trusts]):
        late_joiner = i > 0 and rng.random() < LATE_JOINER_SHARE
        joined = uniform_day(rng, date(plan.first_fy + 1, 4, 1), date(plan.first_fy + plan.years - 1, 1, 1))
        chronic = rng.random() < LATE_SHARES[1][0]
        trusts.append(
            Trust(
                ods=ods,
                size=rng.lognormvariate(0.0, TRUST_SIZE_SIGMA),
                joined=joined if late_joiner else plan.start,
                usual_day=rng.randint(*USUAL_DAY),
                late_share=LATE_SHARES[1][1] if chronic else LATE_SHARES[0][1],
            )
        )
    return trusts


def _day_weight(day: date) -> float:
    weight = WEEKEND if day.weekday() >= 5 else 1.0
    if day.month == 8:
        weight *= AUGUST
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2):
        weight *= CHRISTMAS
    return weight


_MEAN_DAY = (5 + 2 * WEEKEND) / 7  # an ordinary week's mean weight: the rates are per ordinary month


def _month_days(month: date) -> tuple[list[date], list[float]]:
    days = [month + timedelta(days=d) for d in range((add_months(month, 1) - month).days)]
    return days, [_day_weight(d) / _MEAN_DAY for d in days]


def draw_applications(
    rng: random.Random,
    plan: HistoryPlan,
    trusts: Sequence[Trust],
    processes: Sequence[EntryProcess],
    months: Sequence[date],
    schedule: SubmissionSchedule,
) -> list[HistoricApplication]:
    total_size = sum(t.size for t in trusts)
    calendar = {month: _month_days(month) for month in months}
    applications: list[HistoricApplication] = []
    for process in processes:
        for trust in trusts:
            share = trust.size / total_size * rng.lognormvariate(0.0, AFFINITY_SIGMA)
            for i, month in enumerate(months):
                rate = process.monthly_rate[i] * share
                for decided in _arrivals(rng, process, trust, calendar[month], rate):
                    applications.append(_course(rng, len(applications) + 1, process, trust, decided, plan, schedule))
    return applications


def _arrivals(
    rng: random.Random, process: EntryProcess, trust: Trust, calendar: tuple[list[date], list[float]], rate: float
) -> list[date]:
    """Approval days of one trust and entry in one month: a Poisson count over the weighted open days."""
    days, weights = calendar
    if rate <= 0.0:
        return []
    if not (_takes_approvals(process, trust, days[0]) and _takes_approvals(process, trust, days[-1])):
        kept = [(d, w) for d, w in zip(days, weights, strict=True) if _takes_approvals(process, trust, d)]
        if not kept:
            return []
        days, weights = [d for d, _ in kept], [w for _, w in kept]
    noise = rng.gammavariate(OVERDISPERSION_SHAPE, 1 / OVERDISPERSION_SHAPE)
    count = _poisson(rng, rate * noise * sum(weights) / len(calendar[0]))
    return sorted(rng.choices(days, cum_weights=list(accumulate(weights)), k=count)) if count else []


def _takes_approvals(process: EntryProcess, trust: Trust, day: date) -> bool:
    return process.opened <= day and trust.joined <= day and (process.closes is None or day <= process.closes)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _course(
    rng: random.Random,
    number: int,
    process: EntryProcess,
    trust: Trust,
    decided: date,
    plan: HistoryPlan,
    schedule: SubmissionSchedule,
) -> HistoricApplication:
    lag = min(PLANNED_LAG_MAX, round(rng.gammavariate(PLANNED_LAG_SHAPE, PLANNED_LAG_SCALE)))
    planned = decided + timedelta(days=lag)
    approval = HistoricApplication(number, trust.ods, process.seed.entry_id, decided, planned, None, (), None, None)
    if rng.random() >= process.start_share:
        if rng.random() < WITHDRAWN_SHARE:
            return dataclasses.replace(approval, withdrawn=decided + timedelta(days=rng.randint(*WITHDRAWN_AFTER_DAYS)))
        return approval  # lapses: no administration ever comes
    start = max(decided, planned + timedelta(days=_start_shift(rng)))
    planned_cycles = _cycles_received(rng, process)
    days = _cycle_days(rng, process.seed.cycle_length_days, start, planned_cycles, plan.end)
    if not days:
        return approval  # would have started after the history's end
    cycles = tuple(CycleRecord(d, schedule.submitted(trust.ods, d, rng)) for d in days)
    if len(days) < planned_cycles:
        return dataclasses.replace(approval, cycles=cycles)  # still on treatment at the history's end
    recorded = days[-1] + timedelta(days=process.seed.cycle_length_days + rng.randint(*STOP_RECORDING_DAYS))
    stop_submitted = schedule.submitted(trust.ods, recorded, rng)
    return dataclasses.replace(approval, cycles=cycles, stop=days[-1], stop_submitted=stop_submitted)


def _start_shift(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.15:
        return -rng.randint(1, 6)
    return 0 if draw < 0.60 else rng.randint(1, 18)


def _cycles_received(rng: random.Random, process: EntryProcess) -> int:
    """How many cycles this patient receives if the history lasts long enough."""
    if rng.random() < process.early_stop_share:
        return rng.choices([c for c, _ in EARLY_STOP_CYCLES], weights=[w for _, w in EARLY_STOP_CYCLES])[0]
    days = min(process.duration.draw(rng), LONGEST_DAYS)
    cycles = max(1, math.ceil(days / process.seed.cycle_length_days))
    cap = process.duration.cap_cycles
    return min(cycles, cap) if cap else cycles


def _cycle_days(rng: random.Random, length: int, start: date, cycles: int, end: date) -> list[date]:
    days, day = list[date](), start
    delays, weights = [d for d, _ in CYCLE_DELAYS], [w for _, w in CYCLE_DELAYS]
    while len(days) < cycles and day <= end:
        days.append(day)
        day += timedelta(days=length + rng.choices(delays, weights=weights)[0])
    return days


# --- SACT submission dates ---------------------------------------------------------------------------


class SubmissionSchedule:
    """When each trust's data for each month arrived: the month's first submission and, for a partial
    month, the next month's submission that brought the rest."""

    def __init__(self, rng: random.Random, trusts: Sequence[Trust], months: Sequence[date]) -> None:
        self._first: dict[tuple[str, date], date] = {}
        self._partial: dict[tuple[str, date], float] = {}
        for trust in trusts:
            for month in months:
                if month < month_start(trust.joined):
                    continue
                late = 2 if rng.random() < trust.late_share else 1
                day = trust.usual_day + rng.randint(-SUBMISSION_JITTER_DAYS, SUBMISSION_JITTER_DAYS)
                self._first[(trust.ods, month)] = add_months(month, late) + timedelta(days=max(0, day - 1))
                if rng.random() < PARTIAL_SHARE:
                    self._partial[(trust.ods, month)] = rng.uniform(*PARTIAL_ROWS)
        for ods, month in sorted(self._first, reverse=True):  # a late month comes with the next one at the latest
            following = self._first.get((ods, add_months(month, 1)))
            if following is not None and following < self._first[(ods, month)]:
                self._first[(ods, month)] = following

    def submitted(self, trust: str, day: date, rng: random.Random) -> date:
        """When a record of `day` arrived: with its month's first submission or, for the rows a partial
        month left out, with the next month's."""
        month = month_start(day)
        first = self._first[(trust, month)]
        share = self._partial.get((trust, month))
        if share is not None and rng.random() >= share:
            return max(first, self._first.get((trust, add_months(month, 1)), first + timedelta(days=30)))
        return first

    def first_submissions(self) -> tuple[SactMonth, ...]:
        return tuple(SactMonth(t, m, d) for (t, m), d in sorted(self._first.items()))
