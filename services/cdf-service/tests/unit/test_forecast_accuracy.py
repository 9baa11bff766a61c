"""Accuracy measures and the band's calibration, against hand computations."""

from __future__ import annotations

import dataclasses

import pytest

from cdf_service.domain.forecast import Band, BandCalibration
from cdf_service.domain.forecast_accuracy import (
    MIN_CALIBRATION_PAIRS,
    PairOutcome,
    accuracy_by_month,
    bias,
    fit_band,
    out_of_year_bands,
    quantile,
    wape,
    with_band,
)


def outcome(trust: str, entry: str, actual: float, forecast: float, run_rate: float, **fields: object) -> PairOutcome:
    base = PairOutcome("2024/25", 6, trust, entry, actual, forecast, forecast, forecast, run_rate)
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_wape_bias_and_levels_by_hand() -> None:
    assert wape([110, 80], [100, 100]) == pytest.approx(30 / 200)
    assert bias([110, 80], [100, 100]) == pytest.approx(-10 / 200)
    assert wape([1], [0]) is None and bias([1], [0]) is None
    outcomes = [
        outcome("RRV", "A", 100, 120, 90, lower=90, upper=130),  # inside
        outcome("RRV", "B", 100, 80, 150, lower=70, upper=95),  # above the band
        outcome("RGT", "A", 200, 210, 100, lower=0, upper=300),  # inside
    ]
    month = accuracy_by_month(outcomes)[6]
    # pairs: |20| + |20| + |10| = 50 of 400; trusts: RRV 200 vs 200 (0), RGT |10|: 10 of 400; national |10| of 400
    assert month.pair.model_wape == pytest.approx(50 / 400)
    assert month.trust.model_wape == pytest.approx(10 / 400)
    assert month.national.model_wape == pytest.approx(10 / 400)
    # run-rate: pairs 10 + 50 + 100 = 160; trusts RRV |240-200| + RGT 100 = 140; national |340-400| = 60
    assert (month.pair.run_rate_wape, month.trust.run_rate_wape) == (pytest.approx(160 / 400), pytest.approx(140 / 400))
    assert month.national.run_rate_wape == pytest.approx(60 / 400)
    assert month.national.run_rate_bias == pytest.approx(-60 / 400)
    assert month.coverage == pytest.approx(2 / 3)
    assert (month.trusts_model_better, month.trusts, month.pairs) == (2, 2, 3)


def test_quantile_interpolates_like_numpy() -> None:
    assert quantile([1, 2, 3, 4, 5], 0.1) == pytest.approx(1.4)
    assert quantile([5, 1, 4, 2, 3], 0.9) == pytest.approx(4.6)


def test_band_is_fitted_where_actuals_fell_per_months_known() -> None:
    # Six months known: errors of -10..+19 (30 pairs, sd 1): P10 = -7.1, P90 = 16.1 (interpolated).
    six = [outcome("RRV", f"E{i}", 100 + i - 10, 100, 0, sd=1.0, months_known=6) for i in range(30)]
    calibration = fit_band(six)
    assert calibration.band_for(6) == Band(low=pytest.approx(-7.1), high=pytest.approx(16.1))
    assert calibration.band_for(3) == calibration.band_for(6)  # too few of its own: all months pooled
    assert fit_band(six[: MIN_CALIBRATION_PAIRS - 1]) == BandCalibration()  # too few at all: normal band
    banded = with_band(six[0], calibration)
    assert (banded.lower, banded.upper) == (pytest.approx(92.9), pytest.approx(116.1))
    floored = with_band(dataclasses.replace(six[0], actual_to_date=95.0), calibration)
    assert floored.lower == 95.0  # never below what was already spent


def test_coverage_is_measured_with_bands_fitted_on_the_other_years() -> None:
    # Year A's errors are small, year B's large: B's band (fitted on A) is too narrow for B.
    small = [outcome("RRV", f"E{i}", 100 + (i % 5) - 2, 100, 0, sd=1.0, financial_year="A") for i in range(40)]
    large = [outcome("RRV", f"E{i}", 100 + 5 * ((i % 5) - 2), 100, 0, sd=1.0, financial_year="B") for i in range(40)]
    banded = {(o.financial_year, o.entry_id): o for o in out_of_year_bands([*small, *large])}
    inside_b = [banded[("B", o.entry_id)].lower <= o.actual <= banded[("B", o.entry_id)].upper for o in large]
    inside_a = [banded[("A", o.entry_id)].lower <= o.actual <= banded[("A", o.entry_id)].upper for o in small]
    assert sum(inside_b) / len(inside_b) == pytest.approx(0.2)  # only the zero errors fit A's band
    assert all(inside_a)  # B's wide band holds all of A
