"""The backtest: forecast every trust x entry at every cut-off from what was known then, and compare with
what the year turned out to be.

For each financial year measured and each cut-off month M1..M11 the cut-off day is the 20th of the
month after M (when month M's SACT is due), and the forecast is made as of the day before from
`known_at` (nothing dated on or after the cut-off). The forecast is the service's own path,
`cdf_service.domain.forecast_basis.forecast_pairs` (the forecaster's), over every pair with an
application. The run-rate is finance's shortcut on the same data: the spend SACT shows for the months
the trust has submitted, divided by those months, x 12 (0 when it has submitted none of the year yet).
The actual outturn is every cycle given in the year at the price in force on its day, however late its
data came.
"""

from __future__ import annotations

import bisect
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from casework.financial_year import fy_end, fy_label, fy_start
from cdf_service.backtest.history_records import HistoricApplication, NationalHistory, PublishedVersion
from cdf_service.backtest.known import HistoryIndex, Knowledge, known_at
from cdf_service.domain.forecast import BandCalibration, ForecastOutturn
from cdf_service.domain.forecast_accuracy import (
    MonthAccuracy,
    PairOutcome,
    accuracy_by_month,
    fit_band,
    out_of_year_bands,
)
from cdf_service.domain.forecast_basis import ForecastContext, forecast_pairs, trust_shares
from cdf_service.domain.forecast_inputs import DEFAULT_START_RATE, months_covered
from cdf_service.domain.national_list import EntryTerms
from cdf_service.domain.time_on_treatment import DEFAULT_MIN_HISTORY

CUTOFF_DAY = 20  # of the month after the cut-off month: month M's SACT is due by then
CUTOFF_MONTHS = tuple(range(1, 12))
Pair = tuple[str, str]


class ModelParameters(Protocol):
    """What the backtest reads of the forecaster's settings: CdfSettings has them, ModelSettings too."""

    @property
    def forecast_min_history(self) -> int: ...

    @property
    def forecast_default_start_rate(self) -> float: ...


@dataclass(frozen=True)
class ModelSettings:
    """The forecaster's settings (as CdfSettings names them) the backtest runs the model with."""

    forecast_min_history: int = DEFAULT_MIN_HISTORY
    forecast_default_start_rate: float = DEFAULT_START_RATE


@dataclass(frozen=True)
class Backtest:
    years: tuple[str, ...]
    outcomes: tuple[PairOutcome, ...]  # each with the band fitted on the other years
    months: dict[int, MonthAccuracy]
    calibration: BandCalibration  # fitted on every year: what the forecaster should use
    seconds: float

    @property
    def pairs(self) -> int:
        """Trust x entry pairs measured (in any year)."""
        return len({(o.trust, o.entry_id) for o in self.outcomes})


def cutoff_day(financial_year: str, cutoff_month: int) -> date:
    """The 20th of the month after the cut-off month (M1 = April: 20 May)."""
    start = fy_start(financial_year)
    month = start.month + cutoff_month  # the month after M
    return date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, CUTOFF_DAY)


def backtest_years(history: NationalHistory, years: int) -> tuple[str, ...]:
    """The last `years` financial years of the history (earlier years are history for the model)."""
    if not 1 <= years < history.plan.years:
        raise ValueError(f"years must be 1 to {history.plan.years - 1} for a {history.plan.years}-year history")
    first = history.plan.first_fy + history.plan.years - years
    return tuple(fy_label(first + i) for i in range(years))


def run_backtest(
    history: NationalHistory,
    years: int = 3,
    months: Sequence[int] = CUTOFF_MONTHS,
    settings: ModelParameters | None = None,
    workers: int = 1,
) -> Backtest:
    """Forecast at every cut-off of the last `years` years and measure it against the outturn; with
    `workers` > 1 the cut-offs are shared between that many forked processes."""
    started = time.perf_counter()
    settings = settings or ModelSettings()
    measured = backtest_years(history, years)
    cutoffs = [(fy, month) for fy in measured for month in months]
    if workers > 1 and len(cutoffs) > 1:
        outcomes = _in_processes(history, cutoffs, settings, workers)
    else:
        outcomes = measure(history, cutoffs, settings)
    banded = out_of_year_bands(outcomes)
    seconds = time.perf_counter() - started
    return Backtest(measured, tuple(banded), accuracy_by_month(banded), fit_band(outcomes), seconds)


def measure(
    history: NationalHistory, cutoffs: Sequence[tuple[str, int]], settings: ModelParameters
) -> list[PairOutcome]:
    """The outcomes of the given (financial year, cut-off month)s, taken in order."""
    prices = _Prices(history.versions)
    index = HistoryIndex(history)
    year: dict[str, tuple[list[tuple[Pair, date, float]], dict[Pair, float]]] = {}
    outcomes: list[PairOutcome] = []
    for fy, month in sorted(cutoffs):
        if fy not in year:
            spend = year_cycles(history.applications, fy, prices)
            year[fy] = spend, actual_outturns(spend)
        spend, actual = year[fy]
        knowledge = known_at(index, cutoff_day(fy, month))
        forecasts = forecast_at(knowledge, settings)
        outcomes.extend(_outcomes(fy, month, forecasts, run_rate_outturns(spend, knowledge, fy), actual))
    return outcomes


_SHARED: list[NationalHistory] = []  # the history a forked worker inherits (not pickled)


def _measure_shared(cutoffs: Sequence[tuple[str, int]], settings: ModelParameters) -> list[PairOutcome]:
    return measure(_SHARED[0], cutoffs, settings)


def _in_processes(
    history: NationalHistory, cutoffs: Sequence[tuple[str, int]], settings: ModelParameters, workers: int
) -> list[PairOutcome]:
    _SHARED[:] = [history]
    try:
        context = multiprocessing.get_context("fork")
        shares = [list(cutoffs[w::workers]) for w in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = list(pool.map(_measure_shared, shares, [settings] * workers))
    finally:
        _SHARED.clear()
    return sorted(
        (o for part in parts for o in part), key=lambda o: (o.financial_year, o.cutoff_month, o.trust, o.entry_id)
    )


def forecast_at(
    knowledge: Knowledge, settings: ModelParameters, calibration: BandCalibration = BandCalibration()
) -> dict[Pair, ForecastOutturn]:
    """The forecaster's answer for every pair with an application, from what the cut-off knew."""
    pairs = sorted({(a.provider_ods, a.entry_id) for a in knowledge.applications})
    entries = {e: found for e in {e for _, e in pairs} if (found := knowledge.entry(e)) is not None}
    terms = {e: EntryTerms(knowledge.versions[e]) for e in entries}
    context = ForecastContext(
        as_of=knowledge.as_of,
        sact_to=knowledge.sact_to,
        shares=trust_shares(((a.provider_ods, a.created) for a in knowledge.applications), knowledge.as_of),
        calibration=calibration,
        min_history=settings.forecast_min_history,
        default_start_rate=settings.forecast_default_start_rate,
    )
    results = forecast_pairs(pairs, knowledge.applications, terms, entries, context)
    return {(r.trust_ods, r.entry_id): r for r in results}


class _Prices:
    """The cost per cycle in force on a day, from every version (the truth, not what was known)."""

    def __init__(self, versions: Iterable[PublishedVersion]) -> None:
        chains: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for v in sorted(versions, key=lambda v: (v.entry.entry_id, v.entry.effective_from)):
            chains[v.entry.entry_id].append((v.entry.effective_from, v.entry.cost_per_cycle))
        self._days = {e: [d for d, _ in chain] for e, chain in chains.items()}
        self._costs = {e: [c for _, c in chain] for e, chain in chains.items()}

    def on(self, entry_id: str, day: date) -> float:
        index = max(0, bisect.bisect_right(self._days[entry_id], day) - 1)
        return float(self._costs[entry_id][index])


def year_cycles(
    applications: Iterable[HistoricApplication], fy: str, prices: _Prices
) -> list[tuple[Pair, date, float]]:
    """Every cycle given in the year: its pair, the day its data arrived and its cost on its day."""
    first, last = fy_start(fy), fy_end(fy)
    return [
        ((a.trust, a.entry_id), c.submitted, prices.on(a.entry_id, c.day))
        for a in applications
        for c in a.cycles
        if first <= c.day <= last
    ]


def actual_outturns(cycles: Iterable[tuple[Pair, date, float]]) -> dict[Pair, float]:
    """Each pair's spend in the year: every cycle given in it, at the price of its day."""
    totals: dict[Pair, float] = defaultdict(float)
    for pair, _, cost in cycles:
        totals[pair] += cost
    return dict(totals)


def run_rate_outturns(cycles: Iterable[tuple[Pair, date, float]], knowledge: Knowledge, fy: str) -> dict[Pair, float]:
    """Finance's run-rate per pair: spend known for the year's submitted months / those months x 12."""
    spend: dict[Pair, float] = defaultdict(float)
    for pair, submitted, cost in cycles:
        if submitted < knowledge.cutoff:
            spend[pair] += cost
    return {pair: total / months_submitted(knowledge, pair[0], fy) * 12 for pair, total in spend.items()}


def months_submitted(knowledge: Knowledge, trust: str, fy: str) -> int:
    """Months of the year the trust's SACT covers (at least 1, so that no spend gives 0)."""
    covered = knowledge.sact_to.get(trust)
    return 1 if covered is None else max(1, months_covered(covered, fy))


def _outcomes(
    fy: str,
    month: int,
    forecasts: dict[Pair, ForecastOutturn],
    run_rates: dict[Pair, float],
    actual: dict[Pair, float],
) -> list[PairOutcome]:
    outcomes = []
    for pair in sorted(forecasts.keys() | actual.keys()):
        result = forecasts.get(pair)
        forecast = float(result.outturn) if result else 0.0
        if forecast == 0.0 and actual.get(pair, 0.0) == 0.0:
            continue  # nothing forecast, nothing spent: nothing to measure
        outcomes.append(
            PairOutcome(
                financial_year=fy,
                cutoff_month=month,
                trust=pair[0],
                entry_id=pair[1],
                actual=actual.get(pair, 0.0),
                forecast=forecast,
                lower=float(result.lower) if result else 0.0,
                upper=float(result.upper) if result else 0.0,
                run_rate=run_rates.get(pair, 0.0),
                sd=result.sd if result else 0.0,
                actual_to_date=float(result.actual_to_date) if result else 0.0,
                months_known=months_covered(result.sact_to, fy) if result else 0,
            )
        )
    return outcomes
