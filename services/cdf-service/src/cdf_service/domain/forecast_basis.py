"""From applications to forecasts: what each entry's history says (curve, start share, approval rate,
start lag), what each trust x entry is expected to approve next, and the forecast of a set of pairs.

The caller (the service's forecaster, or the backtest) reads the rows and passes them in; everything
here is pure. A row is an application (not a rejected one) with the attributes the forecaster's
`_OWN` and `_HISTORY` statements select: provider_ods, entry_id, status, planned_start, created (the day it was
decided), first_administration, final_treatment_date, closed_at, and for a started one `months` and
`cycles`: the days cycles were given, in order, and how many on each (a pack of an oral drug dispensed
for several cycles, SACT v4.0 item 83: all of them on its day), and `last_cycle_start` and
`last_cycle_days`: the start of the latest cycle SACT reported (a pack's last one) and its length (item
82), None when SACT did not say (v3.0, or the backtest's history).

New approvals are learnt per trust x entry, recent ones counting most (weights halve every
RATE_HALF_LIFE_DAYS, over the last RATE_WINDOW_DAYS): the pair's own approvals per day the entry took
approvals, pulled towards the entry's national rate x the trust's national share of approvals by a
prior worth PRIOR_DAYS days (a gamma-Poisson estimate, whose variance goes into the band). A trust
counts from its first approval, so one that joined late is not diluted by the months before.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate, pairwise
from typing import Any

from casework.financial_year import financial_year_of, fy_start
from cdf_service.domain.forecast import BandCalibration, ForecastOutturn, forecast_entry
from cdf_service.domain.forecast_inputs import (
    DEFAULT_START_RATE,
    CyclePattern,
    NewApprovals,
    PendingApproval,
    Treatment,
    historical_start_rate,
    months_covered,
)
from cdf_service.domain.national_list import EntryTerms, ListEntry
from cdf_service.domain.time_on_treatment import (
    DEFAULT_MIN_HISTORY,
    KaplanMeierCurve,
    observation_from_cycles,
    observation_from_treatment,
    time_on_treatment_curve,
)

HISTORY_STATES = frozenset({"treatment_started", "treatment_stopped", "lapsed", "withdrawn"})
MIN_INTERVAL_TREATMENTS = 10  # treatments with two cycles or more needed to learn an entry's interval
MIN_GAPS = 50  # gaps between cycles needed to learn how long a treatment may go quiet
PATTERN_DAYS = 2 * 365  # cycle spacing is learnt from treatments started in the last two years
QUIET_SHARE = 0.01  # for the curve, a gap longer than all but this share of an entry's gaps is a stop
RATE_HALF_LIFE_DAYS = 91
RATE_WINDOW_DAYS = 365
PRIOR_DAYS = 60.0
DEFAULT_START_LAG_DAYS = 14
Pair = tuple[str, str]


@dataclass(frozen=True)
class TrustShares:
    """Each trust's share of the nation's recent approvals, counted from its own first approval."""

    share: Mapping[str, float]
    first: Mapping[str, date]


@dataclass(frozen=True)
class ForecastContext:
    """What every pair forecast at once shares."""

    as_of: date
    sact_to: Mapping[str, date]  # per trust (ODS code's first three characters): last day its SACT covers
    shares: TrustShares
    calibration: BandCalibration = field(default_factory=BandCalibration)
    min_history: int = DEFAULT_MIN_HISTORY
    default_start_rate: float = DEFAULT_START_RATE

    def sact_to_of(self, provider_ods: str) -> date:
        found = self.sact_to.get(provider_ods[:3])
        return self.as_of if found is None or found > self.as_of else found


@dataclass(frozen=True)
class EntryBasis:
    curve: KaplanMeierCurve | None  # None: the entry's expected duration
    cycles: CyclePattern  # how its cycles are spaced in SACT
    quiet_days: int  # a treatment with no administration for longer than this before SACT ends has stopped
    start_rate: float
    start_lag_days: int
    approvals_per_day: float  # national, per (weighted) day the entry took approvals
    exposure: tuple[float, ...]  # exposure[i]: weighted approval days from as_of - i to as_of


_WEIGHTS = tuple(0.5 ** (age / RATE_HALF_LIFE_DAYS) for age in range(RATE_WINDOW_DAYS))


def recency_weight(as_of: date, day: date) -> float:
    age = (as_of - day).days
    return _WEIGHTS[age] if 0 <= age < RATE_WINDOW_DAYS else 0.0


def _exposure(terms: EntryTerms, as_of: date) -> tuple[float, ...]:
    """Cumulative weighted days the entry took approvals, going back from as_of one day at a time."""
    weights = [0.0] * RATE_WINDOW_DAYS
    for opens, closes in terms.approval_spans():
        nearest, furthest = max(0, (as_of - closes).days), min(RATE_WINDOW_DAYS - 1, (as_of - opens).days)
        if nearest <= furthest:
            weights[nearest : furthest + 1] = _WEIGHTS[nearest : furthest + 1]
    return tuple(accumulate(weights))


def exposure_since(basis: EntryBasis, as_of: date, first: date | None) -> float:
    """Weighted approval days of the entry from `first` (a trust's first approval) to as_of."""
    if not basis.exposure:
        return 0.0
    if first is None:
        return basis.exposure[-1]
    back = (as_of - first).days
    return 0.0 if back < 0 else basis.exposure[min(back, len(basis.exposure) - 1)]


def entry_basis(
    applications: Iterable[Any],
    entry: ListEntry,
    terms: EntryTerms,
    context: ForecastContext,
) -> EntryBasis:
    """Curve, start share, start lag and national approval rate of an entry from every trust's
    applications of it (censoring a running treatment where its trust's SACT ends)."""
    rows = list(applications)
    recent = context.as_of - timedelta(days=PATTERN_DAYS)
    pattern = cycle_pattern(
        (r for r in rows if r.first_administration and r.first_administration >= recent), entry.cycle_length_days
    )
    interval = pattern.interval
    quiet = quiet_days(pattern)
    observations, lags = [], []
    resolved = started = 0
    approvals = 0.0
    for r in rows:
        approvals += recency_weight(context.as_of, r.created)
        if r.status not in HISTORY_STATES:
            continue
        resolved += 1
        if r.first_administration is None:
            continue
        started += 1
        sact_to = context.sact_to_of(r.provider_ods)
        stop = presumed_stop(r, sact_to, quiet)
        seen = sum(r.cycles) if r.cycles else 0
        if seen:
            stopped = stop is not None and stop <= context.as_of
            length = r.last_cycle_days or entry.cycle_length_days
            observations.append(observation_from_cycles(seen, stopped, length))
        elif (obs := observation_from_treatment(r.first_administration, stop, sact_to, interval)) is not None:
            observations.append(obs)
        if 0 <= (context.as_of - r.created).days < RATE_WINDOW_DAYS:
            lags.append((r.first_administration - r.created).days)
    exposure = _exposure(terms, context.as_of)
    return EntryBasis(
        curve=time_on_treatment_curve(observations, context.min_history),
        cycles=pattern,
        quiet_days=quiet,
        start_rate=historical_start_rate(started, resolved, context.default_start_rate),
        start_lag_days=max(0, round(statistics.median(lags))) if lags else DEFAULT_START_LAG_DAYS,
        approvals_per_day=approvals / exposure[-1] if exposure[-1] > 0 else 0.0,
        exposure=exposure,
    )


def trust_shares(approvals: Iterable[tuple[str, date]], as_of: date) -> TrustShares:
    """From every (provider_ods, day decided) in the nation: each trust's weighted approvals over the
    nation's weighted approvals since the trust's first one."""
    own: dict[str, float] = defaultdict(float)
    first: dict[str, date] = {}
    days: list[date] = []
    for provider, day in approvals:
        if day > as_of:
            continue
        first[provider] = min(first.get(provider, day), day)
        if (w := recency_weight(as_of, day)) > 0:
            own[provider] += w
            days.append(day)
    days.sort()
    weights = [recency_weight(as_of, d) for d in days]
    after = list(accumulate(reversed(weights)))[::-1]  # after[i]: weight of days[i:]
    share = {}
    for provider, weight in own.items():
        i = bisect.bisect_left(days, first[provider])
        share[provider] = weight / after[i] if i < len(after) and after[i] > 0 else 0.0
    return TrustShares(share, first)


def new_approvals_for(
    provider: str, own: Iterable[Any], basis: EntryBasis, context: ForecastContext
) -> NewApprovals | None:
    """The pair's expected approvals per day: its own recent rate pulled towards entry rate x trust share."""
    exposure = exposure_since(basis, context.as_of, context.shares.first.get(provider))
    if exposure <= 0:
        return None
    count = sum(recency_weight(context.as_of, r.created) for r in own)
    prior = basis.approvals_per_day * context.shares.share.get(provider, 0.0)
    shape, rate = count + PRIOR_DAYS * prior, exposure + PRIOR_DAYS
    return NewApprovals(per_day=shape / rate, per_day_variance=shape / rate**2, start_lag_days=basis.start_lag_days)


def cycle_pattern(applications: Iterable[Any], cycle_length_days: int) -> CyclePattern:
    """How an entry's cycles are spaced in SACT. The interval: first to last cycle over cycles - 1, summed
    over treatments with two cycles or more, between one and two cycle lengths (the list's cycle length
    until MIN_INTERVAL_TREATMENTS treatments show it). The gaps: every gap between consecutive cycle
    days, as a table of the share longer than each number of days (once MIN_GAPS are known). A treatment
    SACT gives another cycle length l (v4.0 item 82) counts its days x L / l in the interval (which the
    forecast scales back by l / L); a day that gave a pack of n cycles (item 83) covers n - 1 cycle
    lengths of the gap after it."""
    days = 0.0
    intervals = treatments = 0
    gaps: list[int] = []
    for r in applications:
        given = sum(r.cycles) if r.cycles else 0
        if r.first_administration is None or given < 2:
            continue
        length = r.last_cycle_days  # None: no item 82, one cycle a day given
        days += (last_cycle(r) - r.first_administration).days * cycle_length_days / (length or cycle_length_days)
        intervals += given - 1
        treatments += 1
        covered = length or 0
        gaps.extend(
            max(0, (later - earlier).days - (n - 1) * covered)
            for (earlier, later), n in zip(pairwise(r.months), r.cycles, strict=False)
        )
    interval = float(cycle_length_days)
    if treatments >= MIN_INTERVAL_TREATMENTS:
        interval = min(max(days / intervals, cycle_length_days), 2.0 * cycle_length_days)
    return CyclePattern(interval, _longer_than(gaps) if len(gaps) >= MIN_GAPS else ())


def _longer_than(gaps: Sequence[int]) -> tuple[float, ...]:
    counts = [0] * (max(gaps) + 1)
    for gap in gaps:
        counts[gap] += 1
    longer, total = [], len(gaps)
    for count in counts:
        total -= count
        longer.append(total / len(gaps))
    return tuple(longer)


def quiet_days(pattern: CyclePattern) -> int:
    """Fewest days without a cycle after which, for the curve, a treatment counts as stopped."""
    days = 0
    while pattern.gap_longer_than(days) > QUIET_SHARE:
        days += 1
    return days


def presumed_stop(app: Any, sact_to: date, quiet: int) -> date | None:
    """The final treatment date, or for a treatment SACT shows no cycle of for longer than `quiet` days
    before it ends, its last cycle (the stop is still to be reported)."""
    stop = _stop(app)
    if stop is not None or not app.months:
        return stop
    last = last_cycle(app)
    return last if (sact_to - last).days > quiet else None


def last_cycle(app: Any) -> date:
    """The start of a started application's latest cycle: as SACT reported it (a dispensed pack's last
    cycle, maybe still to come), else the latest day a cycle was given."""
    reported: date | None = app.last_cycle_start
    latest: date = app.months[-1]
    return latest if reported is None else max(reported, latest)


def trust_inputs(
    applications: Iterable[Any], sact_to: date, quiet: int, since: date = date.min
) -> tuple[list[Treatment], list[PendingApproval]]:
    """A pair's treatments (started applications, with their cycles per day) and pending approvals;
    treatments that stopped before `since` are left out."""
    treatments, pending = [], []
    for a in applications:
        if a.final_treatment_date is not None and a.final_treatment_date < since:
            continue
        if a.first_administration is not None:
            given = dict(zip(a.months, a.cycles, strict=True)) if a.months else {}
            stop = presumed_stop(a, sact_to, quiet)
            treatments.append(
                Treatment(
                    start=a.first_administration,
                    stop=stop,
                    cycles_by_month=given,
                    last_cycle_start=a.last_cycle_start,
                    cycle_length_days=a.last_cycle_days,
                )
            )
        if a.status == "approved":
            pending.append(PendingApproval(a.planned_start))
    return treatments, pending


def _stop(app: Any) -> date | None:
    """Date of final treatment, or the withdrawal date for a treatment withdrawn while running."""
    final: date | None = app.final_treatment_date
    if final is not None:
        return final
    closed: datetime | None = app.closed_at
    return closed.date() if app.status == "withdrawn" and closed else None


def forecast_pairs(
    pairs: Sequence[Pair],
    applications: Iterable[Any],
    terms: Mapping[str, EntryTerms],
    entries: Mapping[str, ListEntry],
    context: ForecastContext,
    bases: Mapping[str, EntryBasis] | None = None,
) -> list[ForecastOutturn]:
    """The forecast of each (trust, entry) pair, in `pairs`' order, from every application of their
    entries; an entry's basis is computed once (or taken from `bases`). A pair whose entry is not in
    `entries` is left out."""
    own: dict[Pair, list[Any]] = defaultdict(list)
    by_entry: dict[str, list[Any]] = defaultdict(list)
    for row in applications:
        by_entry[row.entry_id].append(row)
        own[(row.provider_ods, row.entry_id)].append(row)
    wanted = {e for _, e in pairs if e in entries}
    known = dict(bases or {})
    for entry_id in wanted - known.keys():
        known[entry_id] = entry_basis(by_entry[entry_id], entries[entry_id], terms[entry_id], context)
    fy = financial_year_of(context.as_of).financial_year
    year_start = fy_start(fy)
    results = []
    for provider, entry_id in pairs:
        if entry_id not in wanted:
            continue
        rows, basis = own[(provider, entry_id)], known[entry_id]
        sact_to = context.sact_to_of(provider)
        treatments, pending = trust_inputs(rows, sact_to, basis.quiet_days, year_start)
        results.append(
            forecast_entry(
                trust_ods=provider,
                entry=entries[entry_id],
                treatments=treatments,
                pending=pending,
                curve=basis.curve,
                as_of=context.as_of,
                start_rate=basis.start_rate,
                band=context.calibration.band_for(months_covered(sact_to, fy)),
                sact_to=sact_to,
                terms=terms[entry_id],
                new_approvals=new_approvals_for(provider, rows, basis, context),
                cycles=basis.cycles,
            )
        )
    return results
