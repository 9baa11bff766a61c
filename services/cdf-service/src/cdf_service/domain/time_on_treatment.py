"""Time on treatment: a Kaplan–Meier estimate from SACT start/stop history for one list entry.

Conventions (the forecast depends on them, so they are fixed here):
- A duration is in days from the first administration. For a stopped treatment it is
  `(date of final treatment - start) + cycle length`: the final cycle covers a whole cycle, which
  is how the national SACT time-on-treatment reports count it, and it makes "cycle k (0-based) is
  given" exactly the event "duration > k x cycle length".
- A treatment still running at the as-of date is censored just before the duration it would have had
  had it stopped at its last cycle seen (the final cycle is no earlier than that one; whether the
  patient is still on treatment, SACT does not say until the next cycle or the stop is reported).
  Without a cycle seen it is censored at `as_of - start`.
- Ties: events at time t happen before censorings at t (censored patients count as at risk at t).
- S(t) = P(duration > t) is right-continuous. Beyond the last observed time S keeps its last
  level (as most packages report it); `expected_remaining` documents how its tail is cut.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from itertools import pairwise

DEFAULT_MIN_HISTORY = 20  # fewer completed-or-censored treatments than this -> use expected duration


@dataclass(frozen=True)
class Observation:
    duration_days: float
    stopped: bool  # True: treatment stopped (event); False: still on treatment (censored)


@dataclass(frozen=True)
class KaplanMeierRow:
    time: float
    at_risk: int
    events: int
    censored: int
    survival: float


@dataclass(frozen=True)
class KaplanMeierCurve:
    rows: tuple[KaplanMeierRow, ...]

    @property
    def observations(self) -> int:
        return self.rows[0].at_risk if self.rows else 0

    @property
    def last_time(self) -> float:
        return self.rows[-1].time if self.rows else 0.0

    def survival(self, t: float) -> float:
        """S(t) = P(still on treatment after t days); 1 before the first time, last level after."""
        index = bisect.bisect_right(self._times, t) - 1
        return 1.0 if index < 0 else self.rows[index].survival

    def median(self) -> float | None:
        """Smallest time with S(t) <= 0.5; None when the curve never gets that low."""
        return next((row.time for row in self.rows if row.survival <= 0.5), None)

    def restricted_mean(self, start: float, end: float) -> float:
        """Integral of S(u) du over [start, end] (exact: S is a step function)."""
        if end <= start:
            return 0.0
        inner = [t for t in self._times if start < t < end]
        points = [start, *inner, end]
        # S is constant on [a, b) between consecutive jump times, so the left value is exact.
        return sum(self.survival(a) * (b - a) for a, b in pairwise(points))

    def expected_remaining(self, t_elapsed: float, horizon_days: float | None = None) -> float:
        """Expected further days on treatment for someone already on it for `t_elapsed` days.

        E[min(T, t_elapsed + h) - t_elapsed | T > t_elapsed] = integral of S(u)/S(t_elapsed) over
        (t_elapsed, t_elapsed + h].
        Tail rule: with a horizon, S is carried at its last level up to the horizon (a curve that
        does not reach 0 means some patients are still on treatment, and they keep costing money);
        without a horizon the integral stops at the last observed time, because a flat tail would
        make the mean infinite. A patient past a curve that has reached 0 gets 0.
        """
        if t_elapsed < 0:
            raise ValueError("t_elapsed must not be negative")
        if horizon_days is not None and horizon_days < 0:
            raise ValueError("horizon_days must not be negative")
        at_elapsed = self.survival(t_elapsed)
        if at_elapsed == 0.0:
            return 0.0
        end = self.last_time if horizon_days is None else t_elapsed + horizon_days
        return self.restricted_mean(t_elapsed, end) / at_elapsed

    @cached_property
    def _times(self) -> tuple[float, ...]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
        return tuple(row.time for row in self.rows)


def kaplan_meier(observations: Iterable[Observation]) -> KaplanMeierCurve:
    """Product-limit estimate; the table has one row per distinct time (event or censoring)."""
    items = list(observations)
    if not items:
        raise ValueError("Kaplan–Meier needs at least one observation")
    if any(o.duration_days < 0 for o in items):
        raise ValueError("durations must not be negative")
    events = Counter(o.duration_days for o in items if o.stopped)
    censored = Counter(o.duration_days for o in items if not o.stopped)
    at_risk = len(items)
    survival = 1.0
    rows: list[KaplanMeierRow] = []
    for t in sorted(events.keys() | censored.keys()):
        d, c = events[t], censored[t]
        survival *= 1.0 - d / at_risk
        rows.append(KaplanMeierRow(time=t, at_risk=at_risk, events=d, censored=c, survival=survival))
        at_risk -= d + c
    return KaplanMeierCurve(rows=tuple(rows))


CENSOR_BEFORE = 0.5  # days: a running treatment is censored this much before its stop-at-last-cycle duration


def observation_from_treatment(
    start: date,
    final_treatment: date | None,
    as_of: date,
    cycle_length_days: float,
    last_cycle: date | None = None,
) -> Observation | None:
    """One KM observation from SACT dates as known on `as_of`; None if it had not started by then.
    `cycle_length_days` is the interval the last cycle covers: the list's cycle length, or the
    entry's interval between cycles as SACT shows it; `last_cycle` the latest cycle seen.

    A final treatment date after `as_of` is not yet known, so that treatment counts as running
    (this lets a backtest reuse full histories).
    """
    if start > as_of:
        return None
    if final_treatment is not None and final_treatment <= as_of:
        if final_treatment < start:
            raise ValueError("final treatment date is before the start date")
        return Observation((final_treatment - start).days + cycle_length_days, stopped=True)
    if last_cycle is not None and start <= last_cycle <= as_of:
        return Observation((last_cycle - start).days + cycle_length_days - CENSOR_BEFORE, stopped=False)
    return Observation((as_of - start).days, stopped=False)


def observation_from_cycles(cycles: int, stopped: bool, cycle_length_days: int) -> Observation:
    """Time on treatment counted in cycles, whatever the delays between them: a treatment that stopped
    after n cycles lasted n x L; one still running after n cycles is censored just before n x L (it
    has had at least n). Cycle k (0-based) is then given exactly when the duration exceeds k x L."""
    if cycles < 0:
        raise ValueError("cycles must not be negative")
    if stopped:
        return Observation(float(cycles * cycle_length_days), stopped=True)
    return Observation(max(0.0, cycles * cycle_length_days - CENSOR_BEFORE), stopped=False)


def time_on_treatment_curve(
    observations: Iterable[Observation], min_history: int = DEFAULT_MIN_HISTORY
) -> KaplanMeierCurve | None:
    """The KM curve, or None when history is too thin and the entry's expected duration should be used."""
    items = list(observations)
    if len(items) < max(min_history, 1):
        return None
    return kaplan_meier(items)
