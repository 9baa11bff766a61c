"""The backtest's result as a document (`--json`, stored for GET /cdf/forecasts/accuracy) and as a table.

{"months": {"M6": {"model_wape": …, "run_rate_wape": …, "coverage_p10_p90": …, "bias": …, …}, …},
 "years": […], "pairs": …, "data": {what it ran on}, "calibration": {"6": [low, high], …}, "seconds": …}

Per cut-off month: `model_wape` / `run_rate_wape` national (each year's national total against its
outturn, summed over the years), `bias` the model's national bias (`run_rate_bias` the run-rate's),
`coverage_p10_p90` the share of trust x entry outturns inside the model's band (fitted on the other
years), then the same WAPEs per trust and per trust x entry, and the trusts whose WAPE over the years is
lower under the model.
"""

from __future__ import annotations

from typing import Any

from cdf_service.backtest.run import Backtest
from cdf_service.domain.forecast import BandCalibration
from cdf_service.domain.forecast_accuracy import MonthAccuracy


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def month_figures(month: MonthAccuracy) -> dict[str, Any]:
    return {
        "model_wape": _r(month.national.model_wape),
        "run_rate_wape": _r(month.national.run_rate_wape),
        "coverage_p10_p90": _r(month.coverage),
        "bias": _r(month.national.model_bias),
        "run_rate_bias": _r(month.national.run_rate_bias),
        "trust_model_wape": _r(month.trust.model_wape),
        "trust_run_rate_wape": _r(month.trust.run_rate_wape),
        "pair_model_wape": _r(month.pair.model_wape),
        "pair_run_rate_wape": _r(month.pair.run_rate_wape),
        "trusts_model_better": month.trusts_model_better,
        "trusts": month.trusts,
        "pairs": month.pairs,
    }


def calibration_document(calibration: BandCalibration) -> dict[str, list[float]]:
    return {str(months): [round(b.low, 4), round(b.high, 4)] for months, b in sorted(calibration.bands.items())}


def document(backtest: Backtest, data: dict[str, Any], history_seconds: float) -> dict[str, Any]:
    return {
        "months": {f"M{m}": month_figures(a) for m, a in sorted(backtest.months.items())},
        "years": list(backtest.years),
        "pairs": backtest.pairs,
        "data": data,
        "calibration": calibration_document(backtest.calibration),
        "seconds": round(backtest.seconds, 1),
        "history_seconds": round(history_seconds, 1),
    }


def table(doc: dict[str, Any]) -> str:
    """The figures as a text table, one cut-off month a line."""

    def pct(value: float | None) -> str:
        return "    -" if value is None else f"{100 * value:5.1f}"

    lines = [
        "cut-off | national WAPE % model  run-rate  ratio | bias % model run-rate | coverage % | "
        "trust WAPE % model run-rate | trusts better | pair WAPE % model run-rate",
    ]
    for name, m in doc["months"].items():
        ratio = m["model_wape"] / m["run_rate_wape"] if m["model_wape"] is not None and m["run_rate_wape"] else None
        lines.append(
            f"{name:>7} |               {pct(m['model_wape'])}     {pct(m['run_rate_wape'])}  "
            f"{'  -  ' if ratio is None else f'{ratio:5.2f}'} |      {pct(m['bias'])}    {pct(m['run_rate_bias'])} |"
            f"      {pct(m['coverage_p10_p90'])} |            {pct(m['trust_model_wape'])}    "
            f"{pct(m['trust_run_rate_wape'])} |       {m['trusts_model_better']:>2}/{m['trusts']:<2}  |"
            f"           {pct(m['pair_model_wape'])}    {pct(m['pair_run_rate_wape'])}"
        )
    data = doc["data"]
    lines.append(
        f"years {', '.join(doc['years'])}; {doc['pairs']} trust x entry pairs; history seed {data['seed']}, "
        f"{data['trusts']} trusts, {data['entries']} entries, {data['applications']} approvals, {data['cycles']} "
        f"cycles; backtest {doc['seconds']} s (+ history {doc['history_seconds']} s)"
    )
    return "\n".join(lines)
