"""The CDF team's screens, pure parts: the criteria editor read back (empty rows left out, the API's
`criteria.N` named at the row it was typed in), completeness as trusts by month, and the charts'
text alternatives and patterns (readable without colour)."""

from __future__ import annotations

import re

from starlette.datastructures import FormData

from web_console.apis import ApiProblem
from web_console.cdf.charts import Outturn, Series, bar_chart, outturn_chart
from web_console.cdf.completeness import by_trust
from web_console.cdf.national_list import _at_rows, read_criteria


def test_the_criteria_editor_leaves_empty_rows_out_and_names_the_row_typed_in() -> None:
    form = FormData(
        [
            ("criteria-0-code", "C1"),
            ("criteria-0-text", "Stage IV"),
            ("criteria-0-mandatory", "yes"),
            ("criteria-1-code", ""),
            ("criteria-1-text", ""),
            ("criteria-2-code", "C 3"),
            ("criteria-2-text", "Optional one"),
            ("effective_from[day]", "2"),
            ("effective_from[month]", "12"),
            ("effective_from[year]", "2026"),
        ]
    )
    change, shown, errors, rows = read_criteria(form)
    assert not errors
    assert change == {
        "effective_from": "2026-12-02",
        "criteria": [
            {"code": "C1", "text": "Stage IV", "mandatory": True},
            {"code": "C 3", "text": "Optional one", "mandatory": False},
        ],
    }
    assert rows == [0, 2] and shown["criteria.2.code"] == "C 3"
    problem = ApiProblem(422, "Unprocessable", "", errors=[{"field": "criteria.1.code", "message": "bad pattern"}])
    assert _at_rows(problem, rows).errors[0]["field"] == "criteria.2.code"


def test_completeness_reads_as_trusts_by_month() -> None:
    rows = [
        {"provider_ods": "RRV", "month": "2026-11", "share": "0.5"},
        {"provider_ods": "RJ1", "month": "2026-11", "share": "1"},
        {"provider_ods": "RRV", "month": "2026-10", "share": None},
    ]
    table = by_trust(rows)
    assert list(table) == ["RJ1", "RRV"] and set(table["RRV"]) == {"2026-11", "2026-10"}


def test_charts_have_a_text_alternative_and_a_pattern_for_every_series() -> None:
    chart = str(
        bar_chart(
            "c",
            "Spend by month",
            "Described",
            ["Apr", "May"],
            (Series("Actual", "solid"), Series("Active", "hatch"), Series("Pipeline", "dots")),
            [[100.0, 0.0], [0.0, 80.0], [0.0, 20.0]],
            lambda v: f"£{v:.0f}",
            stacked=True,
        )
    )
    assert 'role="img"' in chart and 'aria-labelledby="c-title c-desc"' in chart
    assert "url(#c-hatch)" in chart and "url(#c-dots)" in chart
    assert ">£100<" in chart  # each month's total written above its bar
    assert "style=" not in chart  # presentation attributes only: the CSP allows no inline style
    outturn = str(outturn_chart("o", "Outturn", "Described", Outturn(120.0, 90.0, 150.0, 110.0, 40.0), str))
    assert re.search(r">90.0 to 150.0<", outturn) and "Forecast 120.0" in outturn and ">110.0<" in outturn
