"""Projecting a patient's cycles forward over the rest of the financial year: cycle k given with the
probability the time-on-treatment curve gives (time counted in cycles of the list's length), dated by
the entry's interval between cycles and priced at the cost in force on its day, with the first two
moments of the patient's spend (the forecast's band adds the variances up patient by patient).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from casework.financial_year import month_start
from cdf_service.domain.forecast_inputs import CyclePattern, PendingApproval
from cdf_service.domain.national_list import ListEntry
from cdf_service.domain.time_on_treatment import CENSOR_BEFORE

Survival = Callable[[float], float]
CostOn = Callable[[date], float]


@dataclass(frozen=True)
class ProjectionParts:
    survival: Survival
    interval: float  # days between cycles
    unit: int  # the list's cycle length: the curve counts time on treatment in cycles of it
    as_of: date
    sact_to: date
    until: date
    cost: CostOn


@dataclass(frozen=True)
class Projection:
    """Expected spend per month and the first two moments of one patient's spend in the year."""

    by_month: dict[date, float]
    mean: float
    second_moment: float


def expected_duration_survival(entry: ListEntry) -> Survival:
    """Fallback curve: everyone stays exactly `expected_cycles` cycles (duration = cycles x length)."""
    duration = entry.expected_duration_days
    return lambda t: 1.0 if t < duration else 0.0


def project(
    origin: date, first: int, survival: Survival, given: float, parts: ProjectionParts, step: float | None = None
) -> Projection:
    """Cycles k = first, first + 1, ... dated origin + (k - first) x the interval between cycles (rounded to
    a day) up to the year's end; cycle k given with probability S(k x L) / given (time on treatment is
    counted in cycles of the list's length L), at its day's cost.

    The events "cycle k given" are nested (a later cycle implies the earlier ones), so the j-th
    probability p_j is P(count >= j). With c_j the j-th cycle's cost and C_j = c_1 + ... + c_j, the
    spend X has E[X] = sum p_j c_j and E[X^2] = sum p_j c_j (2 C_j - c_j) (with one cost c:
    c^2 sum (2j - 1) p_j).
    """
    by_month: dict[date, float] = {}
    mean = second = cumulative = 0.0
    interval, unit, k = step or parts.interval, parts.unit, first
    day = origin
    while day <= parts.until:
        p = survival(k * unit) / given
        if p <= 0.0:
            break  # survival never rises again
        c = parts.cost(day)
        cumulative += c
        month = month_start(day)
        by_month[month] = by_month.get(month, 0.0) + p * c
        mean += p * c
        second += p * c * (2 * cumulative - c)
        k += 1
        day = origin + timedelta(days=round((k - first) * interval))
    return Projection(by_month, mean, second)


def project_active(
    start: date, seen: int, last: date | None, length: int | None, parts: ProjectionParts, pattern: CyclePattern
) -> Projection:
    """The rest of a treatment that started on `start` and was running when the trust's SACT ends, with
    `seen` cycles in SACT, the latest starting on `last` (a dispensed pack's last cycle: maybe after
    `sact_to`), `length` days long as SACT reported it (v4.0 item 82; None: the list's length L).
    L below is then that length, and the interval the entry's interval x length / L.

    It has had at least `seen` cycles: with G = S(just under n x L) and S1 = S(n x L), n = seen, the
    next cycle comes with probability S1 / G. SACT also shows no cycle in the g days from `last` to its
    end; a continuing treatment's gap is longer than g with probability F(g) (`CyclePattern`), a
    stopped one's always. So P(next cycle) = S1 F / (S1 F + G - S1), and cycle k >= n is given with
    S(k x L) times the same factor. The next cycles fall every interval after `last` (from the day
    after SACT ends if already overdue). With no cycle seen: on treatment at `sact_to`, cycles every
    interval from the start."""
    if length is not None and length != parts.unit:
        parts = dataclasses.replace(parts, interval=parts.interval * length / parts.unit, unit=length)
    survival, interval, sact_to = parts.survival, parts.interval, parts.sact_to
    if last is None:
        elapsed = (sact_to - start).days
        given = survival(elapsed * parts.unit / interval)
        if given <= 0.0:
            return Projection({}, 0.0, 0.0)  # already longer than the curve allows
        first = int(elapsed // interval) + 1
        return project(start + timedelta(days=round(first * interval)), first, survival, given, parts)
    at_least, next_one = survival(seen * parts.unit - CENSOR_BEFORE), survival(seen * parts.unit)
    quiet = pattern.gap_longer_than(max(0, (sact_to - last).days))
    if at_least <= 0.0 or next_one <= 0.0 or quiet <= 0.0:
        return Projection({}, 0.0, 0.0)  # past the curve, or quiet for longer than any treatment goes on
    given = next_one + (at_least - next_one) / quiet
    origin = max(last + timedelta(days=round(interval)), sact_to + timedelta(days=1))
    return project(origin, seen, survival, given, parts)


def expected_start(pending: PendingApproval, sact_to: date) -> date:
    """The planned start, or the day after the trust's SACT ends when that has passed and the approval is live."""
    return max(pending.planned_start, sact_to + timedelta(days=1))
