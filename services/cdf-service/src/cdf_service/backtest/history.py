"""A seeded synthetic national CDF history for backtesting the spend forecast (not the demo generator).

`cdf_service.synthetic` makes a believable month of SACT files for demos and load tests. This module
makes years of national activity for one purpose: measuring the forecast against what happened. Its
processes are chosen to be unlike what the forecaster assumes, and the forecaster never reads them:
the backtest sees only what a national database would hold (dated list versions, approvals,
withdrawals, SACT cycles and stops, each with the day it became known). Same plan, same history.

The processes (the constants below; the service README has the same table):
- Trusts: sizes log-normal (sigma 0.7); a fifth join the CDF late, on a day between the history's
  second April and its last January.
- Entries: `HistoryPlan.entries` drug + indication entries made from the seed list's drugs, prices,
  cycle lengths and expected cycles (a drug used twice has a second indication). They open at a
  steady pace, on days drawn from four years before the history to six months before its end, so
  about a dozen are open at any time. Managed access ends 24-60 months after opening; a quarter are
  extended by 6-12 months (announced 20-75 days before the end), a tenth close early (a decision
  announced 0-45 days ahead). Patients on treatment carry on after a closure.
- Prices: 0.35 changes a year per entry, two thirds rises of 1-6%, a third cuts of 8-35%, on the 1st
  of a month (70%) or any day, published 0-45 days before they take effect.
- Approvals: a national rate per entry (log-normal, median 12 a month, sigma 0.8) x the trust's share
  x a trust x entry affinity (log-normal, sigma 0.5), moved by the entry's own trend (sigma 15% a
  year), a monthly random walk (sigma 5%), sudden steps (0.25 a year, sigma 0.35 on the log scale)
  and an uptake ramp after opening (1 - exp(-months / 2-9)); gamma(10) overdispersion per trust,
  entry and month; weekends at 15%, August at 80%, 22 December-2 January at 30%.
- Starts: planned start 0-60 days after approval (gamma, mean 10 days); 80-97% of an entry's
  approvals start, from 6 days early to 18 days late; the rest are withdrawn (45%, 3-35 days after
  approval) or lapse.
- Time on treatment, per entry a mixture: 4-18% stop for toxicity after 1-3 cycles; the rest last a
  Weibull (shape 0.8-1.8) or log-normal (sigma 0.45-1.0) time with median 0.55-1.6 x the list's
  expected duration; 55% of entries cap the course at 1.5-3 x the expected cycles.
- Cycles: every cycle length, delayed a week (16%) or two (6%).
- SACT: one cycle a row and no cycle length (as v3.0, before v4.0's items 82 and 83); a trust submits
  month m on its usual day (3rd-17th, +-3 days) of month m+1; a month comes a month late with the
  trust's own probability (70% of trusts 4%, 30% of trusts 20%); 6% of months are partial (40-90% of
  the rows; the rest come with the next month's submission). A stop is recorded 0-21 days after the
  next cycle was due and submitted with that month's data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any

from casework.financial_year import month_start
from cdf_service.domain.list_csv import parse_list_csv
from cdf_service.domain.national_list import EntryStatus, ListEntry
from cdf_service.list_loader import SEED_LIST

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

# Entries
OPENING_YEARS_BEFORE, LAST_OPENING_MONTHS_BEFORE_END = 4, 6
MANAGED_ACCESS_MONTHS = (24, 60)
EXTENDED_SHARE, EXTENSION_MONTHS, EXTENSION_NOTICE_DAYS = 0.25, (6, 12), (20, 75)
EARLY_CLOSE_SHARE, CLOSE_NOTICE_DAYS = 0.10, (0, 45)
PRICE_CHANGES_PER_YEAR, PRICE_RISE_SHARE = 0.35, 2 / 3
PRICE_RISE, PRICE_CUT = (0.01, 0.06), (0.08, 0.35)
PRICE_ON_FIRST_SHARE, PRICE_NOTICE_DAYS = 0.7, (0, 45)

# Approvals
RATE_MEDIAN, RATE_SIGMA = 12.0, 0.8  # national approvals a month per entry
AFFINITY_SIGMA = 0.5
TREND_SIGMA_PER_YEAR, WALK_SIGMA_PER_MONTH = 0.15, 0.05
STEPS_PER_YEAR, STEP_SIGMA = 0.25, 0.35
UPTAKE_MONTHS = (2.0, 9.0)
OVERDISPERSION_SHAPE = 10.0
WEEKEND, AUGUST, CHRISTMAS = 0.15, 0.8, 0.3

# Starts and treatment
PLANNED_LAG_SHAPE, PLANNED_LAG_SCALE, PLANNED_LAG_MAX = 2.0, 5.0, 60
START_SHARE = (0.80, 0.97)
WITHDRAWN_SHARE, WITHDRAWN_AFTER_DAYS = 0.45, (3, 35)
EARLY_STOP_SHARE, EARLY_STOP_CYCLES = (0.04, 0.18), ((1, 0.5), (2, 0.3), (3, 0.2))
WEIBULL_SHARE, WEIBULL_SHAPE, LOGNORMAL_SIGMA = 0.5, (0.8, 1.8), (0.45, 1.0)
MEDIAN_VS_EXPECTED = (0.55, 1.6)
CAPPED_SHARE, CAP_VS_EXPECTED = 0.55, (1.5, 3.0)
LONGEST_DAYS = 5 * 365
CYCLE_DELAYS = ((0, 0.78), (7, 0.16), (14, 0.06))


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


# --- What a national database would hold -----------------------------------------------------------


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
            "generator": __name__,
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


# --- The hidden processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trust:
    ods: str
    size: float
    joined: date
    usual_day: int
    late_share: float


@dataclass(frozen=True)
class _Duration:
    """Time on treatment of the patients who do not stop early for toxicity."""

    weibull: bool
    shape: float  # Weibull shape, or log-normal sigma
    median_days: float
    cap_cycles: int | None

    def draw(self, rng: random.Random) -> float:
        if self.weibull:
            scale = self.median_days / math.log(2) ** (1 / self.shape)
            return rng.weibullvariate(scale, self.shape)
        return rng.lognormvariate(math.log(self.median_days), self.shape)


@dataclass(frozen=True)
class _EntryProcess:
    seed: ListEntry  # the seed list's latest version: drug, price, cycle length, expected cycles
    opened: date
    closes: date | None  # the true last day of new approvals (after extensions and early closure)
    monthly_rate: tuple[float, ...]  # national approvals per month, per month of the history
    start_share: float
    early_stop_share: float
    duration: _Duration


def national_history(plan: HistoryPlan = HistoryPlan()) -> NationalHistory:
    """The history for `plan`: the same plan (and seed) always gives the same records."""
    rng = random.Random(plan.seed)
    months = _months(plan.start, plan.end)
    trusts = _trusts(rng, plan)
    processes, versions = [], []
    for seed in _entry_templates(plan.entries):
        process, published = _entry(rng, plan, seed, months)
        processes.append(process)
        versions.extend(published)
    schedule = _SubmissionSchedule(rng, trusts, _months(plan.start, _add_months(plan.end, 3)))
    applications = _applications(rng, plan, trusts, processes, months, schedule)
    return NationalHistory(
        plan=plan,
        trusts=tuple(t.ods for t in trusts),
        versions=tuple(versions),
        applications=tuple(applications),
        submissions=schedule.first_submissions(),
    )


def _entry_templates(count: int) -> list[ListEntry]:
    """`count` entries from the seed list's drugs in turn; a drug's second use is another indication."""
    rows, problems = parse_list_csv(SEED_LIST.read_text(encoding="utf-8"))
    if problems:
        raise ValueError(f"seed list: {problems}")
    latest: dict[str, ListEntry] = {}
    for row in rows:
        latest[row.entry.entry_id] = row.entry
    drugs = list(latest.values())
    templates = []
    for i in range(count):
        seed, use = drugs[i % len(drugs)], i // len(drugs) + 1
        if use > 1:
            seed = dataclasses.replace(
                seed, entry_id=f"{seed.entry_id}-{use}", indication=f"{seed.indication} (indication {use})"
            )
        templates.append(seed)
    return templates


def _months(start: date, end: date) -> list[date]:
    months, day = [], month_start(start)
    while day <= end:
        months.append(day)
        day = _add_months(day, 1)
    return months


def _add_months(day: date, n: int) -> date:
    year, month = divmod(day.month - 1 + n, 12)
    return date(day.year + year, month + 1, 1)


def _uniform_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _trusts(rng: random.Random, plan: HistoryPlan) -> list[_Trust]:
    if not 1 <= plan.trusts <= len(TRUST_CODES):
        raise ValueError(f"trusts must be 1 to {len(TRUST_CODES)}")
    trusts = []
    for i, ods in enumerate(TRUST_CODES[: plan.trusts]):
        late_joiner = i > 0 and rng.random() < LATE_JOINER_SHARE
        joined = _uniform_day(rng, date(plan.first_fy + 1, 4, 1), date(plan.first_fy + plan.years - 1, 1, 1))
        chronic = rng.random() < LATE_SHARES[1][0]
        trusts.append(
            _Trust(
                ods=ods,
                size=rng.lognormvariate(0.0, TRUST_SIZE_SIGMA),
                joined=joined if late_joiner else plan.start,
                usual_day=rng.randint(*USUAL_DAY),
                late_share=LATE_SHARES[1][1] if chronic else LATE_SHARES[0][1],
            )
        )
    return trusts


# --- Entries: when they open and close, their prices, their approval rates -------------------------


def _entry(
    rng: random.Random, plan: HistoryPlan, seed: ListEntry, months: Sequence[date]
) -> tuple[_EntryProcess, list[PublishedVersion]]:
    first_opening = date(plan.first_fy - OPENING_YEARS_BEFORE, 4, 1)
    opened = _uniform_day(rng, first_opening, _add_months(plan.end, -LAST_OPENING_MONTHS_BEFORE_END))
    planned_end = _add_months(month_start(opened), rng.randint(*MANAGED_ACCESS_MONTHS)) - timedelta(days=1)
    first = dataclasses.replace(
        seed,
        version=1,
        managed_access_start=opened,
        managed_access_end=planned_end,
        status=EntryStatus.OPEN,
        effective_from=opened,
        effective_to=None,
    )
    published = _chain(first, opened - timedelta(days=rng.randint(14, 60)), _list_changes(rng, plan, first))
    weibull = rng.random() < WEIBULL_SHARE
    duration = _Duration(
        weibull=weibull,
        shape=rng.uniform(*WEIBULL_SHAPE) if weibull else rng.uniform(*LOGNORMAL_SIGMA),
        median_days=seed.expected_duration_days * rng.uniform(*MEDIAN_VS_EXPECTED),
        cap_cycles=round(seed.expected_cycles * rng.uniform(*CAP_VS_EXPECTED)) if rng.random() < CAPPED_SHARE else None,
    )
    process = _EntryProcess(
        seed=seed,
        opened=opened,
        closes=_true_close(published),
        monthly_rate=_rate_path(rng, plan, opened, months),
        start_share=rng.uniform(*START_SHARE),
        early_stop_share=rng.uniform(*EARLY_STOP_SHARE),
        duration=duration,
    )
    return process, published


@dataclass(frozen=True)
class _Change:
    effective: date
    published: date
    fields: dict[str, Any]  # ListEntry fields by name, each of its own type


def _list_changes(rng: random.Random, plan: HistoryPlan, first: ListEntry) -> list[_Change]:
    """Price changes, and the end of managed access moved by an extension or an early closure."""
    changes: list[_Change] = []
    cost = first.cost_per_cycle
    day = max(first.effective_from, plan.start - timedelta(days=365))
    while (day := day + timedelta(days=1 + round(rng.expovariate(PRICE_CHANGES_PER_YEAR / 365)))) <= plan.end:
        effective = _add_months(month_start(day), 1) if rng.random() < PRICE_ON_FIRST_SHARE else day
        rise = rng.random() < PRICE_RISE_SHARE
        factor = 1 + rng.uniform(*PRICE_RISE) if rise else 1 - rng.uniform(*PRICE_CUT)
        cost = (cost * Decimal(repr(factor))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        notice = timedelta(days=rng.randint(*PRICE_NOTICE_DAYS))
        changes.append(_Change(effective, effective - notice, {"cost_per_cycle": cost}))
    end = first.managed_access_end
    assert end is not None
    if rng.random() < EXTENDED_SHARE:
        longer = _add_months(end + timedelta(days=1), rng.randint(*EXTENSION_MONTHS)) - timedelta(days=1)
        announced = end - timedelta(days=rng.randint(*EXTENSION_NOTICE_DAYS))
        changes.append(_Change(announced, announced, {"managed_access_end": longer}))
        end = longer
    if rng.random() < EARLY_CLOSE_SHARE:
        closing = _uniform_day(rng, first.effective_from + timedelta(days=180), end)
        if closing < end:
            notice = timedelta(days=rng.randint(*CLOSE_NOTICE_DAYS))
            changes.append(_Change(closing, closing - notice, {"status": EntryStatus.CLOSED}))
    return [c for c in changes if c.published <= plan.end]


def _chain(first: ListEntry, first_published: date, changes: Sequence[_Change]) -> list[PublishedVersion]:
    """The versions in effective order, each carrying every earlier change; a version is published
    no later than the next one (the service only ever follows the latest version)."""
    chain = [(first, first_published)]
    for change in sorted(changes, key=lambda c: c.effective):
        current = chain[-1][0]
        if change.effective > current.effective_from:
            fields = {"version": current.version + 1, "effective_from": change.effective, **change.fields}
            chain.append((dataclasses.replace(current, **fields), change.published))
    published = [p for _, p in chain]
    for i in range(len(published) - 2, -1, -1):
        published[i] = min(published[i], published[i + 1])
    return [PublishedVersion(entry, day) for (entry, _), day in zip(chain, published, strict=True)]


def _true_close(published: Sequence[PublishedVersion]) -> date | None:
    """The last day the entry really took approvals: the final managed access end, or the day before
    an early closure."""
    closed = next((v.entry.effective_from for v in published if v.entry.status is EntryStatus.CLOSED), None)
    if closed is not None:
        return closed - timedelta(days=1)
    return published[-1].entry.managed_access_end


def _rate_path(rng: random.Random, plan: HistoryPlan, opened: date, months: Sequence[date]) -> tuple[float, ...]:
    """National approvals per month: base x trend x random walk x steps x uptake ramp."""
    level = math.log(RATE_MEDIAN * plan.scale) + rng.gauss(0.0, RATE_SIGMA)
    trend = rng.gauss(0.0, TREND_SIGMA_PER_YEAR) / 12
    uptake = rng.uniform(*UPTAKE_MONTHS)
    rates = []
    for month in months:
        level += trend + rng.gauss(0.0, WALK_SIGMA_PER_MONTH)
        if rng.random() < STEPS_PER_YEAR / 12:
            level += rng.gauss(0.0, STEP_SIGMA)
        age_months = max(0.0, (month - opened).days / 30.44)
        rates.append(math.exp(level) * (1.0 - math.exp(-age_months / uptake)))
    return tuple(rates)


# --- Approvals, starts and cycles --------------------------------------------------------------------


def _day_weight(day: date) -> float:
    weight = WEEKEND if day.weekday() >= 5 else 1.0
    if day.month == 8:
        weight *= AUGUST
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2):
        weight *= CHRISTMAS
    return weight


_MEAN_DAY = (5 + 2 * WEEKEND) / 7  # an ordinary week's mean weight: the rates are per ordinary month


def _month_days(month: date) -> tuple[list[date], list[float]]:
    days = [month + timedelta(days=d) for d in range((_add_months(month, 1) - month).days)]
    return days, [_day_weight(d) / _MEAN_DAY for d in days]


def _applications(
    rng: random.Random,
    plan: HistoryPlan,
    trusts: Sequence[_Trust],
    processes: Sequence[_EntryProcess],
    months: Sequence[date],
    schedule: _SubmissionSchedule,
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
    rng: random.Random, process: _EntryProcess, trust: _Trust, calendar: tuple[list[date], list[float]], rate: float
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


def _takes_approvals(process: _EntryProcess, trust: _Trust, day: date) -> bool:
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
    process: _EntryProcess,
    trust: _Trust,
    decided: date,
    plan: HistoryPlan,
    schedule: _SubmissionSchedule,
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


def _cycles_received(rng: random.Random, process: _EntryProcess) -> int:
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


class _SubmissionSchedule:
    """When each trust's data for each month arrived: the month's first submission and, for a partial
    month, the next month's submission that brought the rest."""

    def __init__(self, rng: random.Random, trusts: Sequence[_Trust], months: Sequence[date]) -> None:
        self._first: dict[tuple[str, date], date] = {}
        self._partial: dict[tuple[str, date], float] = {}
        for trust in trusts:
            for month in months:
                if month < month_start(trust.joined):
                    continue
                late = 2 if rng.random() < trust.late_share else 1
                day = trust.usual_day + rng.randint(-SUBMISSION_JITTER_DAYS, SUBMISSION_JITTER_DAYS)
                self._first[(trust.ods, month)] = _add_months(month, late) + timedelta(days=max(0, day - 1))
                if rng.random() < PARTIAL_SHARE:
                    self._partial[(trust.ods, month)] = rng.uniform(*PARTIAL_ROWS)
        for ods, month in sorted(self._first, reverse=True):  # a late month comes with the next one at the latest
            following = self._first.get((ods, _add_months(month, 1)))
            if following is not None and following < self._first[(ods, month)]:
                self._first[(ods, month)] = following

    def submitted(self, trust: str, day: date, rng: random.Random) -> date:
        """When a record of `day` arrived: with its month's first submission or, for the rows a partial
        month left out, with the next month's."""
        month = month_start(day)
        first = self._first[(trust, month)]
        share = self._partial.get((trust, month))
        if share is not None and rng.random() >= share:
            return max(first, self._first.get((trust, _add_months(month, 1)), first + timedelta(days=30)))
        return first

    def first_submissions(self) -> tuple[SactMonth, ...]:
        return tuple(SactMonth(t, m, d) for (t, m), d in sorted(self._first.items()))
