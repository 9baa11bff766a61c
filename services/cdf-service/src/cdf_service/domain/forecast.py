"""Spend forecast for one trust x list entry over a financial year (the model and a worked example: the service README).

Four parts, month by month (M1 = April ... M12 = March):
- actual: cycles SACT reports as given, each at the cost per cycle in force on the day it was given (a
  pack of an oral drug dispensed for several cycles, SACT v4.0 item 83, costs them all that day);
- active: treatments SACT shows running, projected forward from their latest cycle (a dispensed pack's
  last one, which may still be to come), and never into the days the trust's SACT already covers
  (`sact_to`: the last day its submitted months cover, at most as-of). Time on treatment is counted in
  cycles: cycle k is given with probability S(k x l) / S(cycles seen x l) from the time-on-treatment
  curve (or the entry's expected duration), lowered when SACT has shown no cycle for longer than the
  entry's gaps usually last; l is the cycle length SACT last reported for the treatment (item 82), else
  the list's L, and the treatment's cycles fall every l x (the entry's interval / L) days (the entry's
  usual delays on the treatment's own cycle length: the entry's interval when l = L);
- pipeline: approvals not yet started x start rate x the same cycle probabilities from the expected start;
- new approvals: approvals not yet made, expected at a rate per day on the days the entry takes
  approvals (`NewApprovals`, learnt in `forecast_basis`), x start rate, starting a typical lag later.
Projected cycles are priced at the cost in force on their day (`EntryTerms`, from the versions known).

Band: P10-P90 as outturn + low x sd .. outturn + high x sd (`Band`, calibrated by the backtest; the
default is the normal distribution's). The variance adds up patient by patient (independent patients):
each active patient's remaining spend under the curve, each pending approval's Bernoulli(start rate)
start times that, the new approvals as a compound Poisson count plus the uncertainty of their rate.
The lower end never goes below the actual spend to date.

What the forecast is made from: domain.forecast_inputs; a patient's cycles projected forward, with
their moments: domain.cycle_projection.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from casework.financial_year import financial_year_of, fy_end, fy_start, month_start, month_starts
from casework.identifiers import is_valid_ods_code
from cdf_service.domain.cycle_projection import ProjectionParts, expected_duration_survival, project, project_active
from cdf_service.domain.forecast_inputs import (
    DEFAULT_START_RATE,
    CyclePattern,
    NewApprovals,
    PendingApproval,
    Treatment,
)
from cdf_service.domain.national_list import EntryTerms, ListEntry
from cdf_service.domain.prior_approval import lapse_due_date
from cdf_service.domain.time_on_treatment import KaplanMeierCurve

NORMAL_P90 = 1.2815515655446004  # the normal distribution's 90th percentile, in standard deviations
PENNY = Decimal("0.01")


# --- The result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """The band's ends in standard deviations of the outturn from it (P10 and P90)."""

    low: float = -NORMAL_P90
    high: float = NORMAL_P90


@dataclass(frozen=True)
class BandCalibration:
    """The band's ends by how many months of the year the trust's SACT covers (fitted by the backtest,
    `forecast_accuracy.fit_band`); months it has no band for get the normal one."""

    bands: Mapping[int, Band] = field(default_factory=dict)

    def band_for(self, months: int) -> Band:
        return self.bands.get(months, Band())


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
    new_approvals: Decimal = Decimal("0.00")

    @property
    def projected(self) -> Decimal:
        return self.active + self.pipeline + self.new_approvals

    @property
    def total(self) -> Decimal:
        return self.actual + self.projected


@dataclass(frozen=True)
class ForecastOutturn:
    trust_ods: str
    entry_id: str
    entry_version: int
    financial_year: str
    as_of: date
    sact_to: date
    basis: ForecastBasis
    start_rate: float
    months: tuple[MonthForecast, ...]
    actual_to_date: Decimal
    active_projection: Decimal
    pipeline: Decimal
    new_approvals: Decimal
    outturn: Decimal
    sd: float  # standard deviation of the outturn, £
    lower: Decimal
    upper: Decimal


def run_rate_outturn(actual_to_date: Decimal, months_elapsed: int) -> Decimal:
    """Finance's shortcut: spend to date / months elapsed x 12. The forecast must beat it in backtests."""
    if not 1 <= months_elapsed <= 12:
        raise ValueError("months_elapsed must be 1 to 12")
    return _pence(actual_to_date / months_elapsed * 12)


def _pence(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


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
    band: Band = Band(),
    sact_to: date | None = None,
    terms: EntryTerms | None = None,
    new_approvals: NewApprovals | None = None,
    cycles: CyclePattern | None = None,
) -> ForecastOutturn:
    """Forecast outturn for the financial year containing `as_of`. Anything dated after `as_of` is
    treated as not yet known, so a backtest can pass full histories with an earlier `as_of`.

    `sact_to`: the last day the trust's SACT covers (default `as_of`); `terms`: the entry's versions
    known on `as_of` (default `entry` alone); `new_approvals`: approvals still to come (default none);
    `cycles`: how the entry's cycles are spaced in SACT (default every cycle length of the list)."""
    if not is_valid_ods_code(trust_ods):
        raise ValueError(f"not a valid ODS code: {trust_ods!r}")
    if not 0.0 <= start_rate <= 1.0:
        raise ValueError("start_rate must be between 0 and 1")
    fy = financial_year_of(as_of).financial_year
    sact_to = as_of if sact_to is None or sact_to > as_of else sact_to
    terms = terms or EntryTerms.of(entry)
    cycles = cycles or CyclePattern(float(entry.cycle_length_days))
    survival = curve.survival if curve is not None else expected_duration_survival(entry)
    parts = ProjectionParts(
        survival, cycles.interval, entry.cycle_length_days, as_of, sact_to, fy_end(fy), terms.cost_on
    )
    year_start = fy_start(fy)
    treatments = [t for t in treatments if t.stop is None or t.stop >= year_start]  # the rest cost nothing now
    actual = _actual_spend(treatments, year_start, as_of, terms)
    active, active_var = _active_part(treatments, parts, cycles)
    pipeline, pipeline_var = _pipeline_part(pending, parts, entry.lapse_window_days, start_rate)
    new, new_var = _new_approvals_part(new_approvals, parts, terms, as_of, start_rate)
    months = tuple(
        MonthForecast(
            month=i + 1,
            month_start=start,
            actual=_pence(actual.get(start, Decimal(0))),
            active=_money(active.get(start, 0.0)),
            pipeline=_money(pipeline.get(start, 0.0)),
            new_approvals=_money(new.get(start, 0.0)),
        )
        for i, start in enumerate(month_starts(fy))
    )
    sd = math.sqrt(max(active_var + pipeline_var + new_var, 0.0))  # float noise can dip just below 0
    return _outturn(trust_ods, entry, fy, as_of, sact_to, curve, start_rate, months, sd, band)


def _money(amount: float) -> Decimal:
    if amount == 0 and math.copysign(1.0, amount) > 0:
        return Decimal("0.00")
    # Round the float to 6 places first so binary noise cannot tip a half-penny.
    return _pence(Decimal(repr(round(amount, 6))))


def _actual_spend(
    treatments: Iterable[Treatment], year_start: date, as_of: date, terms: EntryTerms
) -> dict[date, Decimal]:
    """Cycles SACT shows per month of the year up to the as-of month, each at the cost in force on its day."""
    known_until = month_start(as_of)
    cycles_at: dict[tuple[date, Decimal], int] = {}
    for treatment in treatments:
        for day, cycles in treatment.cycles_by_month.items():
            if day >= year_start and (month := month_start(day)) <= known_until:
                key = (month, terms.decimal_cost_on(day))
                cycles_at[key] = cycles_at.get(key, 0) + cycles
    totals: dict[date, Decimal] = {}
    for (month, cost), cycles in cycles_at.items():
        totals[month] = totals.get(month, Decimal(0)) + cycles * cost
    return totals


def _active_part(
    treatments: Iterable[Treatment], parts: ProjectionParts, pattern: CyclePattern
) -> tuple[dict[date, float], float]:
    """Expected spend per month of treatments running when the SACT ends, and the variance of their spend.
    Treatments that started on the same day (with the same cycles seen) have the same projection: it is
    made once for all of them."""
    as_of = parts.as_of
    running = Counter(
        (t.start, *_seen(t, as_of)) for t in treatments if t.start <= as_of and (t.stop is None or t.stop > as_of)
    )
    by_month: dict[date, float] = {}
    variance = 0.0
    for (start, seen, last, length), patients in running.items():
        projection = project_active(start, seen, last, length, parts, pattern)
        _add(by_month, projection.by_month, patients)
        variance += patients * (projection.second_moment - projection.mean**2)
    return by_month, variance


def _seen(treatment: Treatment, as_of: date) -> tuple[int, date | None, int | None]:
    """Cycles SACT shows given up to as-of, the start of the latest, and its length (v4.0 item 82). The
    latest cycle SACT reported (and its length) count only when nothing was given after as-of; else the
    latest day given up to as-of, at the list's length."""
    given = treatment.cycles_by_month
    days = [day for day in given if day <= as_of]
    seen, last = sum(given[d] for d in days), max(days, default=None)
    if last is None or len(days) < len(given):
        return seen, last, None
    reported = treatment.last_cycle_start
    return seen, last if reported is None else max(last, reported), treatment.cycle_length_days


def _pipeline_part(
    pending: Iterable[PendingApproval], parts: ProjectionParts, lapse_window_days: int, start_rate: float
) -> tuple[dict[date, float], float]:
    """Expected spend per month of approvals not yet started (x start rate), and its variance.
    Approvals planned for the same day have the same projection: it is made once per planned start."""
    by_month: dict[date, float] = {}
    variance = 0.0
    for planned, approvals in Counter(a.planned_start for a in pending).items():
        if parts.sact_to > lapse_due_date(planned, lapse_window_days):
            continue  # SACT covers its whole window and shows no start: it lapses and will cost nothing
        start = max(planned, parts.sact_to + timedelta(days=1))
        projection = project(start, 0, parts.survival, 1.0, parts)
        _add(by_month, projection.by_month, start_rate * approvals)
        # Spend = B x X with B ~ Bernoulli(p) independent of X: Var = p E[X^2] - p^2 E[X]^2 per approval.
        variance += approvals * (start_rate * projection.second_moment - (start_rate * projection.mean) ** 2)
    return by_month, variance


def _new_approvals_part(
    rate: NewApprovals | None, parts: ProjectionParts, terms: EntryTerms, as_of: date, start_rate: float
) -> tuple[dict[date, float], float]:
    """Approvals after `as_of`, month by month: per_day x the days the entry takes approvals, each starting
    (with probability start rate) a lag after the middle of those days. Their count is Poisson, so the
    spend's variance is the expected starts x E[X^2], plus the rate's own uncertainty x (spend per unit rate)^2."""
    by_month: dict[date, float] = {}
    if rate is None or rate.per_day <= 0:
        return by_month, 0.0
    variance = per_unit_rate = 0.0
    first = as_of + timedelta(days=1)
    while first <= parts.until:
        last = min(month_end(first), parts.until)
        days = terms.approval_days(first, last)
        if days:
            start = first + timedelta(days=(last - first).days // 2 + rate.start_lag_days)
            projection = project(start, 0, parts.survival, 1.0, parts)
            starts = rate.per_day * days * start_rate
            _add(by_month, projection.by_month, starts)
            variance += starts * projection.second_moment
            per_unit_rate += days * start_rate * projection.mean
        first = last + timedelta(days=1)
    return by_month, variance + rate.per_day_variance * per_unit_rate**2


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _add(total: dict[date, float], part: Mapping[date, float], weight: float) -> None:
    for month, amount in part.items():
        total[month] = total.get(month, 0.0) + weight * amount


def _outturn(
    trust_ods: str,
    entry: ListEntry,
    fy: str,
    as_of: date,
    sact_to: date,
    curve: KaplanMeierCurve | None,
    start_rate: float,
    months: tuple[MonthForecast, ...],
    sd: float,
    band: Band,
) -> ForecastOutturn:
    # Totals are sums of the rounded months, so the months always add up to the outturn.
    actual = sum((m.actual for m in months), Decimal("0.00"))
    active = sum((m.active for m in months), Decimal("0.00"))
    pipeline = sum((m.pipeline for m in months), Decimal("0.00"))
    new = sum((m.new_approvals for m in months), Decimal("0.00"))
    outturn = actual + active + pipeline + new
    return ForecastOutturn(
        trust_ods=trust_ods,
        entry_id=entry.entry_id,
        entry_version=entry.version,
        financial_year=fy,
        as_of=as_of,
        sact_to=sact_to,
        basis=ForecastBasis.KAPLAN_MEIER if curve is not None else ForecastBasis.EXPECTED_DURATION,
        start_rate=start_rate,
        months=months,
        actual_to_date=actual,
        active_projection=active,
        pipeline=pipeline,
        new_approvals=new,
        outturn=outturn,
        sd=sd,
        lower=max(_pence(outturn + Decimal(band.low * sd)), actual),
        upper=max(_pence(outturn + Decimal(band.high * sd)), actual),
    )
