"""How the finance pages word money and months: an overspend says "over", never a minus sign; the
provider's months are its lines' months added together."""

from __future__ import annotations

from web_console.finance.figures import chart_text, months_of, variance_text


def line(*months: tuple[str, str, str]) -> dict:
    starts = ("2026-04-01", "2026-05-01", "2026-06-01")
    return {
        "months": [
            {"month_start": s, "actual": a, "forecast": f, "budget_profile": p}
            for s, (a, f, p) in zip(starts, months, strict=False)
        ]
    }


def test_variance_in_words() -> None:
    assert variance_text("10000.00", "10.00") == "£10,000.00 over (10.00%)"
    assert variance_text("-40000.00", "-40.00") == "£40,000.00 under (40.00%)"
    assert variance_text("0.00") == "On budget"


def test_months_add_up_over_lines() -> None:
    one = line(("100.00", "0.00", "50.00"), ("0.00", "200.00", "50.00"))
    two = line(("1.50", "0.00", "10.00"), ("0.00", "2.25", "10.00"))
    april, may = months_of([one, two])
    assert (april.name, april.actual, april.forecast, april.total, april.budget_profile) == (
        "April 2026",
        "£101.50",
        "£0.00",
        "£101.50",
        "£60.00",
    )
    assert (may.name, may.total) == ("May 2026", "£202.25")
    assert months_of([]) == []


def test_the_charts_text_says_what_it_concludes() -> None:
    text = chart_text("CDF drugs", "1000", "1200", "200")
    assert "Forecast outturn £1,200.00 against a budget of £1,000.00, £200.00 over" in text
