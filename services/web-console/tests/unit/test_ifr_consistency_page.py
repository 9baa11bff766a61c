"""The decision-consistency page's chart and words: rates on their intervals, a flagged region told by
shape and words as well as weight, a text alternative, no inline style (the CSP)."""

from web_console.cdf.charts import IntervalRow, interval_chart
from web_console.ifr.consistency import figures, period_query, treatment_chart


def _row(group: str, name: str, approved: int, decided: int, low: float, high: float, flagged: bool) -> dict:
    return {
        "group": group,
        "name": name,
        "approved": approved,
        "decided": decided,
        "approval_rate": approved / decided,
        "approval_interval": {"low": low, "high": high},
        "flagged": flagged,
    }


def test_the_chart_marks_the_flagged_region_by_shape_and_words() -> None:
    chart = str(
        interval_chart(
            "c",
            "Approval rate",
            "Described",
            [IntervalRow("London", 0.8, 0.49, 0.94, "8 of 10"), IntervalRow("East", 0.1, 0.02, 0.4, "1 of 10", True)],
            0.55,
        )
    )
    assert 'role="img"' in chart and 'aria-labelledby="c-title c-desc"' in chart
    assert 'data-row="East" data-rate="0.1" data-flagged="true"' in chart
    assert chart.count(" l11,11 l-11,11 l-11,-11 z") == 1  # the flagged row's diamond (and only its)
    assert ">East (flagged)<" in chart and ">London<" in chart and ">8 of 10<" in chart
    assert "All together 55%" in chart
    assert "style=" not in chart


def test_a_treatments_chart_leaves_out_groups_without_decisions() -> None:
    treatment = {
        "treatment": "dmd:1",
        "treatment_name": "Examplimab",
        "overall": {"approval_rate": 0.6},
        "by_region": [
            _row("Y56", "London", 8, 10, 0.49, 0.94, False),
            _row("Y61", "East of England", 1, 10, 0.02, 0.4, True),
            {**_row("Y60", "Midlands", 0, 1, 0, 1, False), "decided": 0},
            {**_row("", "No region", 1, 1, 0.2, 1, False), "group": None},
        ],
    }
    chart = str(treatment_chart(treatment))
    assert "Midlands" not in chart and "No region" not in chart
    assert "East of England: 1 of 10 approved, 10% (2% to 40%)" in chart  # the description
    assert "Flagged: East of England." in chart
    assert treatment_chart({**treatment, "by_region": []}) is None
    assert figures(treatment["by_region"][0]) == "8 of 10 approved, 80% (49% to 94%)"


def test_the_quarterly_returns_link_names_both_days() -> None:
    assert period_query("2026-07-01", "2026-09-30") == (
        "start%5Bday%5D=1&start%5Bmonth%5D=7&start%5Byear%5D=2026&end%5Bday%5D=30&end%5Bmonth%5D=9&end%5Byear%5D=2026"
    )
