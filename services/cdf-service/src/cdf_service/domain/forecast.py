"""Spend forecast for one trust x list entry over a financial year (the model and a worked example: the service README).

Three parts, month by month (M1 = April ... M12 = March):
- actual: cycles SACT reports as given x cost per cycle, in the month they were given (a pack of an
  oral drug dispensed for several cycles costs them all that month), for months up to the as-of month;
- active: treatments running on the as-of date, projected forward. Cycles fall every cycle length
  (the one SACT last reported, item 82, else the entry's) from the start date, the first of them the
  next cycle after the latest one SACT reported when that is still to come; cycle k is given if the
  patient is still on treatment then, with probability S(k x L) / S(elapsed) from the time-on-treatment
  curve (or the entry's expected duration);
- pipeline: approvals not yet started x start rate x the same cycle probabilities from the expected start.

Uncertainty band: outturn ± z x sd, where the variance adds up patient by patient (independent
patients): the spread of each active patient's remaining cycle count under the curve, and for each
pending approval the Bernoulli(start rate) start times that count. It does not include estimation
error of the curve or of the start rate, so it is a floor on the real uncertainty. The lower bound
never goes below the actual spend to date.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from casework.financial_year import financial_year_of, fy_end, month_start, month_starts
from casework.identifiers import is_valid_ods_code
from cdf_service.domain.national_list import ListEntry
from cdf_service.domain.prior_approval import lapse_due_date
from cdf_service.domain.time_on_treatment import KaplanMeierCurve

DEFAULT_START_RATE = 0.9  # share of approvals that start, when there is no history yet
DEFAULT_BAND_Z = 1.96  # ~95% under a normal approximation
PENNY = Decimal("0.01")

Survival = Callable[[float], float]


# --- Inputs and result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Treatment:
    """A started treatment as SACT shows it. Months are keyed by any date in the month."""

    start: date
    stop: date | None  # date of final treatment; None while still on treatment
    cycles_by_month: Mapping[date, int] = field(default_factory=dict)
    last_cycle_start: date | None = None  # the latest cycle SACT reported (a dispensed pack: its last one)
    cycle_length_days: int | None = None  # that cycle's length as SACT gave it (v4.0 item 82)

    def next_cycle(self, entry_cycle_days: int) -> tuple[int, date | None]:
        """The cycle length the treatment runs on, and when its next cycle is due (None: not known)."""
        days = self.cycle_length_days or entry_cycle_days
        due = self.last_cycle_start + timedelta(days=days) if self.last_cycle_start is not None else None
        return days, due


@dataclass(frozen=True)
class PendingApproval:
    """Approved, not yet started."""

    planned_start: date


class ForecastBasis(StrEnum):
    KAPLAN_MEIER = "kaplan_meier"
    EXPECTED_DURATION = "expected_duration"


@dataclass(frozen=True)
class MonthForecast:
    month: int
    month_start: date
    actual: Decimal
    active: Decimal
    pipeline: Decimal

    @property
    def total(self) -> Decimal:
        return self.actual + self.active + self.pipeline


@dataclass(frozen=True)
class ForecastOutturn:
    trust_ods: str
    entry_id: str
    entry_version: int
    financial_year: str
    as_of: date
    basis: ForecastBasis
    start_rate: float
    months: tuple[MonthForecast, ...]
    actual_to_date: Decimal
    active_projection: Decimal
    pipeline: Decimal
    outturn: Decimal
    lower: Decimal
    upper: Decimal


# --- Rates and the finance shortcut --------------------------------------------------------------


def historical_start_rate(started: int, resolved: int, default: float = DEFAULT_START_RATE) -> float:
    """Share of resolved approvals (started, lapsed or withdrawn) that started; `default` with no history."""
    if started < 0 or resolved < started:
        raise ValueError("need 0 <= started <= resolved")
    return default if resolved == 0 else started / resolved


def run_rate_outturn(actual_to_date: Decimal, months_elapsed: int) -> Decimal:
    """Finance's shortcut: spend to date / months elapsed x 12. The forecast must beat it in backtests."""
    if not 1 <= months_elapsed <= 12:
        raise ValueError("months_elapsed must be 1 to 12")
    return _pence(actual_to_date / months_elapsed * 12)


def _pence(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


# --- Cycle projection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Projection:
    """Expected cycles per month and the variance of one patient's cycle count in the year."""

    cycles_by_month: dict[date, float]
    mean: float
    second_moment: float


def expected_duration_survival(entry: ListEntry) -> Survival:
    """Fallback curve: everyone stays exactly `expected_cycles` cycles (duration = cycles x length)."""
    duration = entry.expected_duration_days
    return lambda t: 1.0 if t < duration else 0.0


def _project(
    start: date, first_offset: int, survival: Survival, given: float, cycle_days: int, until: date
) -> _Projection:
    """Cycles on start + first_offset and every L days after, dated up to `until`; the cycle `offset`
    days after the start is given with prob S(offset) / given.

    The events "cycle k given" are nested (a later cycle implies the earlier ones), so the j-th
    probability is P(count >= j); that gives E[N] = sum p_j and E[N^2] = sum (2j - 1) p_j.
    """
    by_month: dict[date, float] = {}
    mean = second = 0.0
    j = 1
    offset = first_offset
    day, step = start + timedelta(days=offset), timedelta(days=cycle_days)
    while day <= until:
        p = survival(offset) / given
        if p <= 0.0:
            break  # survival never rises again
        month = month_start(day)
        by_month[month] = by_month.get(month, 0.0) + p
        mean += p
        second += (2 * j - 1) * p
        j, offset, day = j + 1, offset + cycle_days, day + step
    return _Projection(by_month, mean, second)


def _project_active(
    start: date, survival: Survival, cycle_days: int, next_due: date | None, as_of: date, until: date
) -> _Projection:
    """The rest of a treatment that started on `start` and is running on `as_of`: from its next cycle
    when SACT's latest one says it is still to come, else from the first cycle slot after `as_of`."""
    elapsed = (as_of - start).days
    given = survival(elapsed)
    if given <= 0.0:
        # Already longer than the curve allows: no projected cycles; any real ones show up as actuals.
        return _Projection({}, 0.0, 0.0)
    first = (next_due - start).days if next_due is not None and next_due > as_of else None
    return _project(start, first or (elapsed // cycle_days + 1) * cycle_days, survival, given, cycle_days, until)


def expected_start(pending: PendingApproval, as_of: date) -> date:
    """The planned start, or the day after as-of when that has passed and the approval is still live."""
    return max(pending.planned_start, as_of + timedelta(days=1))


# --- The forecast --------------------------------------------------------------------------------


def forecast_entry(
    *,
    trust_ods: str,
    entry: ListEntry,
    treatments: Sequence[Treatment],
    pending: Sequence[PendingApproval],
    curve: KaplanMeierCurve | None,
    as_of: date,
    start_rate: float = DEFAULT_START_RATE,
    band_z: float = DEFAULT_BAND_Z,
) -> ForecastOutturn:
    """Forecast outturn for the financial year containing `as_of`. Anything dated after `as_of` is
    treated as not yet known, so a backtest can pass full histories with an earlier `as_of`."""
    if not is_valid_ods_code(trust_ods):
        raise ValueError(f"not a valid ODS code: {trust_ods!r}")
    if not 0.0 <= start_rate <= 1.0:
        raise ValueError("start_rate must be between 0 and 1")
    fy = financial_year_of(as_of).financial_year
    survival = curve.survival if curve is not None else expected_duration_survival(entry)
    actual_cycles = _actual_cycles(treatments, as_of)
    active, active_var = _active_part(treatments, survival, entry, as_of, fy_end(fy))
    pipeline, pipeline_var = _pipeline_part(pending, survival, entry, as_of, fy_end(fy), start_rate)
    months = tuple(
        MonthForecast(
            month=i + 1,
            month_start=start,
            actual=_money(actual_cycles.get(start, 0), entry.cost_per_cycle),
            active=_money(active.get(start, 0.0), entry.cost_per_cycle),
            pipeline=_money(pipeline.get(start, 0.0), entry.cost_per_cycle),
        )
        for i, start in enumerate(month_starts(fy))
    )
    variance = max(active_var + pipeline_var, 0.0)  # float noise can dip just below 0
    spread = Decimal(band_z * math.sqrt(variance)) * entry.cost_per_cycle
    return _outturn(trust_ods, entry, fy, as_of, curve, start_rate, months, spread)


def _money(cycles: float, cost_per_cycle: Decimal) -> Decimal:
    if cycles == 0 and math.copysign(1.0, cycles) > 0:
        return _pence(cost_per_cycle * 0)  # most months: the same value without the float's text
    # Round the float to 9 places first so binary noise cannot tip a half-penny.
    return _pence(Decimal(repr(round(cycles, 9))) * cost_per_cycle)


def _actual_cycles(treatments: Iterable[Treatment], as_of: date) -> dict[date, int]:
    known_until = month_start(as_of)
    totals: dict[date, int] = {}
    for treatment in treatments:
        for day, cycles in treatment.cycles_by_month.items():
            if (month := month_start(day)) <= known_until:
                totals[month] = totals.get(month, 0) + cycles
    return totals


def _active_part(
    treatments: Iterable[Treatment], survival: Survival, entry: ListEntry, as_of: date, until: date
) -> tuple[dict[date, float], float]:
    """Expected cycles per month of treatments running on `as_of`, and the variance of their count.
    Treatments that started on the same day (and run on the same cycles) have the same projection: it is
    made once for all of them."""
    running = Counter(
        (t.start, *t.next_cycle(entry.cycle_length_days))
        for t in treatments
        if t.start <= as_of and (t.stop is None or t.stop > as_of)
    )
    by_month: dict[date, float] = {}
    variance = 0.0
    for (start, cycle_days, next_due), patients in running.items():
        projection = _project_active(start, survival, cycle_days, next_due, as_of, until)
        _add(by_month, projection.cycles_by_month, patients)
        variance += patients * (projection.second_moment - projection.mean**2)
    return by_month, variance


def _pipeline_part(
    pending: Iterable[PendingApproval],
    survival: Survival,
    entry: ListEntry,
    as_of: date,
    until: date,
    start_rate: float,
) -> tuple[dict[date, float], float]:
    """Expected cycles per month of approvals not yet started (x start rate), and their variance.
    Approvals planned for the same day have the same projection: it is made once per planned start."""
    by_month: dict[date, float] = {}
    variance = 0.0
    for planned, approvals in Counter(a.planned_start for a in pending).items():
        if as_of > lapse_due_date(planned, entry.lapse_window_days):
            continue  # already past its window: it lapses and will cost nothing
        start = expected_start(PendingApproval(planned), as_of)
        projection = _project(start, 0, survival, 1.0, entry.cycle_length_days, until)
        _add(by_month, projection.cycles_by_month, start_rate * approvals)
        # Count = B x N with B ~ Bernoulli(p) independent of N: Var = p E[N^2] - p^2 E[N]^2 per approval.
        variance += approvals * (start_rate * projection.second_moment - (start_rate * projection.mean) ** 2)
    return by_month, variance


def _add(total: dict[date, float], part: Mapping[date, float], weight: float) -> None:
    for month, cycles in part.items():
        total[month] = total.get(month, 0.0) + weight * cycles


def _outturn(
    trust_ods: str,
    entry: ListEntry,
    fy: str,
    as_of: date,
    curve: KaplanMeierCurve | None,
    start_rate: float,
    months: tuple[MonthForecast, ...],
    spread: Decimal,
) -> ForecastOutturn:
    # Totals are sums of the rounded months, so the months always add up to the outturn.
    actual = sum((m.actual for m in months), Decimal("0.00"))
    active = sum((m.active for m in months), Decimal("0.00"))
    pipeline = sum((m.pipeline for m in months), Decimal("0.00"))
    outturn = actual + active + pipeline
    return ForecastOutturn(
        trust_ods=trust_ods,
        entry_id=entry.entry_id,
        entry_version=entry.version,
        financial_year=fy,
        as_of=as_of,
        basis=ForecastBasis.KAPLAN_MEIER if curve is not None else ForecastBasis.EXPECTED_DURATION,
        start_rate=start_rate,
        months=months,
        actual_to_date=actual,
        active_projection=active,
        pipeline=pipeline,
        outturn=outturn,
        lower=max(_pence(outturn - spread), actual),
        upper=_pence(outturn + spread),
    )
