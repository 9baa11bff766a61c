"""The list entries of the backtest's synthetic CDF history: made from the seed list's drugs, when each
opens and closes (managed access, extensions, early closures), its price changes and the versions the
list published, its national approval rate month by month, and each entry's share of approvals that
start and its time on treatment. The constants are the processes backtest.history's docstring lists.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from casework.financial_year import month_start
from cdf_service.backtest.history_records import HistoryPlan, PublishedVersion, add_months, uniform_day
from cdf_service.domain.list_csv import parse_list_csv
from cdf_service.domain.national_list import EntryStatus, ListEntry
from cdf_service.use_cases.list_loader import SEED_LIST

# Entries
OPENING_YEARS_BEFORE, LAST_OPENING_MONTHS_BEFORE_END = 4, 6
MANAGED_ACCESS_MONTHS = (24, 60)
EXTENDED_SHARE, EXTENSION_MONTHS, EXTENSION_NOTICE_DAYS = 0.25, (6, 12), (20, 75)
EARLY_CLOSE_SHARE, CLOSE_NOTICE_DAYS = 0.10, (0, 45)
PRICE_CHANGES_PER_YEAR, PRICE_RISE_SHARE = 0.35, 2 / 3
PRICE_RISE, PRICE_CUT = (0.01, 0.06), (0.08, 0.35)
PRICE_ON_FIRST_SHARE, PRICE_NOTICE_DAYS = 0.7, (0, 45)

# Approval rates
RATE_MEDIAN, RATE_SIGMA = 12.0, 0.8  # national approvals a month per entry
TREND_SIGMA_PER_YEAR, WALK_SIGMA_PER_MONTH = 0.15, 0.05
STEPS_PER_YEAR, STEP_SIGMA = 0.25, 0.35
UPTAKE_MONTHS = (2.0, 9.0)

# Starts and time on treatment, per entry
START_SHARE = (0.80, 0.97)
EARLY_STOP_SHARE = (0.04, 0.18)
WEIBULL_SHARE, WEIBULL_SHAPE, LOGNORMAL_SIGMA = 0.5, (0.8, 1.8), (0.45, 1.0)
MEDIAN_VS_EXPECTED = (0.55, 1.6)
CAPPED_SHARE, CAP_VS_EXPECTED = 0.55, (1.5, 3.0)


@dataclass(frozen=True)
class Duration:
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
class EntryProcess:
    seed: ListEntry  # the seed list's latest version: drug, price, cycle length, expected cycles
    opened: date
    closes: date | None  # the true last day of new approvals (after extensions and early closure)
    monthly_rate: tuple[float, ...]  # national approvals per month, per month of the history
    start_share: float
    early_stop_share: float
    duration: Duration


def entry_templates(count: int) -> list[ListEntry]:
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


def entry_process(
    rng: random.Random, plan: HistoryPlan, seed: ListEntry, months: Sequence[date]
) -> tuple[EntryProcess, list[PublishedVersion]]:
    first_opening = date(plan.first_fy - OPENING_YEARS_BEFORE, 4, 1)
    opened = uniform_day(rng, first_opening, add_months(plan.end, -LAST_OPENING_MONTHS_BEFORE_END))
    planned_end = add_months(month_start(opened), rng.randint(*MANAGED_ACCESS_MONTHS)) - timedelta(days=1)
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
    duration = Duration(
        weibull=weibull,
        shape=rng.uniform(*WEIBULL_SHAPE) if weibull else rng.uniform(*LOGNORMAL_SIGMA),
        median_days=seed.expected_duration_days * rng.uniform(*MEDIAN_VS_EXPECTED),
        cap_cycles=round(seed.expected_cycles * rng.uniform(*CAP_VS_EXPECTED)) if rng.random() < CAPPED_SHARE else None,
    )
    process = EntryProcess(
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
        effective = add_months(month_start(day), 1) if rng.random() < PRICE_ON_FIRST_SHARE else day
        rise = rng.random() < PRICE_RISE_SHARE
        factor = 1 + rng.uniform(*PRICE_RISE) if rise else 1 - rng.uniform(*PRICE_CUT)
        cost = (cost * Decimal(repr(factor))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        notice = timedelta(days=rng.randint(*PRICE_NOTICE_DAYS))
        changes.append(_Change(effective, effective - notice, {"cost_per_cycle": cost}))
    end = first.managed_access_end
    assert end is not None
    if rng.random() < EXTENDED_SHARE:
        longer = add_months(end + timedelta(days=1), rng.randint(*EXTENSION_MONTHS)) - timedelta(days=1)
        announced = end - timedelta(days=rng.randint(*EXTENSION_NOTICE_DAYS))
        changes.append(_Change(announced, announced, {"managed_access_end": longer}))
        end = longer
    if rng.random() < EARLY_CLOSE_SHARE:
        closing = uniform_day(rng, first.effective_from + timedelta(days=180), end)
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
