"""The backtest's document (the shape `--json` prints and the API serves), its table, and the chart."""

from __future__ import annotations

from cdf_service.api.accuracy_chart import AccuracyPoint, render_accuracy_chart
from cdf_service.backtest.report import document, table
from cdf_service.backtest.run import Backtest
from cdf_service.domain.forecast import Band, BandCalibration
from cdf_service.domain.forecast_accuracy import PairOutcome, accuracy_by_month


def backtest() -> Backtest:
    outcomes = (
        PairOutcome("2024/25", 6, "RRV", "E1", 100.0, 104.0, 90.0, 110.0, 130.0),
        PairOutcome("2024/25", 6, "RGT", "E1", 100.0, 90.0, 80.0, 95.0, 80.0),
        PairOutcome("2024/25", 3, "RRV", "E1", 100.0, 60.0, 50.0, 70.0, 120.0),
    )
    calibration = BandCalibration({6: Band(-1.5, 2.25)})
    return Backtest(("2024/25",), outcomes, accuracy_by_month(outcomes), calibration, 12.34)


def test_the_document_has_the_issue_s_shape() -> None:
    doc = document(backtest(), {"seed": 1, "trusts": 2, "entries": 1, "applications": 3, "cycles": 9}, 1.2)
    assert list(doc["months"]) == ["M3", "M6"] and doc["years"] == ["2024/25"] and doc["pairs"] == 2
    six = doc["months"]["M6"]
    assert six["model_wape"] == 0.03  # |194 - 200| / 200
    assert six["run_rate_wape"] == 0.05  # |210 - 200| / 200
    assert six["bias"] == -0.03 and six["run_rate_bias"] == 0.05
    assert six["coverage_p10_p90"] == 0.5  # RGT's 100 is below its band
    assert six["pair_model_wape"] == 0.07 and six["trusts_model_better"] == 2
    assert doc["calibration"] == {"6": [-1.5, 2.25]}
    assert (doc["seconds"], doc["history_seconds"]) == (12.3, 1.2)
    text = table(doc)
    assert "M6" in text and "3.0" in text and "5.0" in text and "0.60" in text  # ratio 0.03 / 0.05


def test_the_chart_draws_each_month_with_its_figures() -> None:
    points = [AccuracyPoint("M1", 0.072, 0.092, 0.74), AccuracyPoint("M2", 0.063, None, None)]
    svg = render_accuracy_chart("Title & more", "sub", points)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "Title &amp; more" in svg
    assert 'class="model" data-month="M1" data-value="0.0720"' in svg
    assert 'class="run-rate" data-month="M1" data-value="0.0920"' in svg
    assert 'class="coverage" data-month="M1" data-value="0.7400"' in svg
    assert 'class="run-rate" data-month="M2"' not in svg and 'class="coverage" data-month="M2"' not in svg
    assert 'class="coverage-target"' in svg
