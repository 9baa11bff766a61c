"""How good the spend forecast was: WAPE, bias and band coverage by cut-off month, model against run-rate.

A backtest produces one `PairOutcome` per financial year, cut-off month and trust x entry: the model's
forecast outturn and P10-P90 band, the run-rate, and the year's actual outturn. From those:
- WAPE = sum of |forecast - actual| / sum of actual, at three levels: trust x entry (each pair a term),
  trust (pairs summed per trust and year first) and national (everything summed per year first);
- bias = sum of (forecast - actual) / sum of actual (positive: the forecast was too high);
- coverage = share of pair outturns inside the model's band [lower, upper];
- per trust, whether the model's WAPE over the years beat the run-rate's.

The band is calibrated from the same outcomes (`fit_band`): its ends are where actual outturns fell,
in the model's standard deviations, for each number of months of the year the trust's SACT covered.
Coverage is measured out of sample (`out_of_year_bands`: each year with a band fitted on the others).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cdf_service.domain.forecast import Band, BandCalibration


@dataclass(frozen=True, slots=True)
class PairOutcome:
    financial_year: str
    cutoff_month: int  # 1..11: the forecast made once month M's data was due
    trust: str
    entry_id: str
    actual: float  # the year's outturn, known only afterwards
    forecast: float
    lower: float
    upper: float
    run_rate: float
    sd: float = 0.0  # the model's standard deviation of the outturn (the band is calibrated on it)
    actual_to_date: float = 0.0  # the model's actual part: the band never goes below it
    months_known: int = 0  # months of the year the trust's SACT covered at the cut-off


@dataclass(frozen=True)
class LevelAccuracy:
    model_wape: float | None
    run_rate_wape: float | None
    model_bias: float | None
    run_rate_bias: float | None


@dataclass(frozen=True)
class MonthAccuracy:
    cutoff_month: int
    national: LevelAccuracy
    trust: LevelAccuracy
    pair: LevelAccuracy
    coverage: float | None  # share of pair outturns inside the P10-P90 band
    trusts_model_better: int  # trusts whose WAPE over the years is lower under the model
    trusts: int  # trusts with any actual spend
    pairs: int  # trust x entry x year outcomes measured


def wape(forecasts: Sequence[float], actuals: Sequence[float]) -> float | None:
    """Sum of absolute errors / sum of actuals; None when nothing was spent."""
    total = sum(actuals)
    return None if total <= 0 else sum(abs(f - a) for f, a in zip(forecasts, actuals, strict=True)) / total


def bias(forecasts: Sequence[float], actuals: Sequence[float]) -> float | None:
    """Sum of (forecast - actual) / sum of actuals; positive when the forecast was too high."""
    total = sum(actuals)
    return None if total <= 0 else (sum(forecasts) - total) / total


def coverage(outcomes: Iterable[PairOutcome]) -> float | None:
    inside = [o.lower <= o.actual <= o.upper for o in outcomes]
    return sum(inside) / len(inside) if inside else None


def _level(outcomes: Sequence[PairOutcome], key: Callable[[PairOutcome], object]) -> LevelAccuracy:
    """Accuracy after summing the outcomes that share `key` (a pair, a trust and year, a year)."""
    model: dict[object, float] = defaultdict(float)
    run_rate: dict[object, float] = defaultdict(float)
    actual: dict[object, float] = defaultdict(float)
    for o in outcomes:
        k = key(o)
        model[k] += o.forecast
        run_rate[k] += o.run_rate
        actual[k] += o.actual
    keys = list(actual)
    a = [actual[k] for k in keys]
    m = [model[k] for k in keys]
    r = [run_rate[k] for k in keys]
    return LevelAccuracy(wape(m, a), wape(r, a), bias(m, a), bias(r, a))


def _trusts_better(outcomes: Sequence[PairOutcome]) -> tuple[int, int]:
    by_trust: dict[str, list[PairOutcome]] = defaultdict(list)
    for o in outcomes:
        by_trust[o.trust].append(o)
    better = measured = 0
    for trust_outcomes in by_trust.values():
        level = _level(trust_outcomes, lambda o: o.financial_year)
        if level.model_wape is None or level.run_rate_wape is None:
            continue
        measured += 1
        better += level.model_wape < level.run_rate_wape
    return better, measured


def month_accuracy(cutoff_month: int, outcomes: Sequence[PairOutcome]) -> MonthAccuracy:
    better, trusts = _trusts_better(outcomes)
    return MonthAccuracy(
        cutoff_month=cutoff_month,
        national=_level(outcomes, lambda o: o.financial_year),
        trust=_level(outcomes, lambda o: (o.financial_year, o.trust)),
        pair=_level(outcomes, lambda o: (o.financial_year, o.trust, o.entry_id)),
        coverage=coverage(outcomes),
        trusts_model_better=better,
        trusts=trusts,
        pairs=len(outcomes),
    )


def accuracy_by_month(outcomes: Iterable[PairOutcome]) -> dict[int, MonthAccuracy]:
    """Every cut-off month's accuracy over all the years measured."""
    by_month: dict[int, list[PairOutcome]] = defaultdict(list)
    for o in outcomes:
        by_month[o.cutoff_month].append(o)
    return {month: month_accuracy(month, items) for month, items in sorted(by_month.items())}


# --- Calibrating the band -------------------------------------------------------------------------

P10, P90 = 0.10, 0.90
MIN_CALIBRATION_PAIRS = 30  # fewer outcomes with a spread than this for a month: use all months together


def quantile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def fit_band(outcomes: Iterable[PairOutcome]) -> BandCalibration:
    """Where actual outturns fell, in the model's standard deviations from its forecast: the 10th and 90th
    percentiles of (actual - forecast) / sd, for each number of months the trust's SACT covered."""
    errors: dict[int, list[float]] = defaultdict(list)
    for o in outcomes:
        if o.sd > 0:
            errors[o.months_known].append((o.actual - o.forecast) / o.sd)
    pooled = [e for values in errors.values() for e in values]
    if len(pooled) < MIN_CALIBRATION_PAIRS:
        return BandCalibration()
    bands = {}
    for months in range(13):
        values = errors.get(months, [])
        if len(values) < MIN_CALIBRATION_PAIRS:
            values = pooled
        bands[months] = Band(low=quantile(values, P10), high=quantile(values, P90))
    return BandCalibration(bands)


def with_band(outcome: PairOutcome, calibration: BandCalibration) -> PairOutcome:
    """The outcome with its band from `calibration` (never below the actual spend to date)."""
    band = calibration.band_for(outcome.months_known)
    lower = max(outcome.forecast + band.low * outcome.sd, outcome.actual_to_date)
    upper = max(outcome.forecast + band.high * outcome.sd, outcome.actual_to_date)
    return dataclasses.replace(outcome, lower=lower, upper=upper)


def out_of_year_bands(outcomes: Sequence[PairOutcome]) -> list[PairOutcome]:
    """Each year's outcomes with the band fitted on the other years only, so coverage is measured on data
    the calibration did not see (with one year, on that year itself)."""
    years = sorted({o.financial_year for o in outcomes})
    if len(years) < 2:
        calibration = fit_band(outcomes)
        return [with_band(o, calibration) for o in outcomes]
    banded: list[PairOutcome] = []
    for year in years:
        calibration = fit_band(o for o in outcomes if o.financial_year != year)
        banded.extend(with_band(o, calibration) for o in outcomes if o.financial_year == year)
    return banded
