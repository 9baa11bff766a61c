"""The quarterly return: counts of what happened in the quarter, by treatment and trust, timeliness."""

from datetime import date

import pytest

from ifr_service.domain.report import (
    CaseSummary,
    ClockRecord,
    Event,
    Milestone,
    csv_rows,
    financial_quarter,
    quarter_bounds,
    quarterly_return,
)

Q3_DAY, BEFORE, AFTER = date(2026, 8, 3), date(2026, 6, 30), date(2026, 10, 1)


def test_quarter_bounds() -> None:
    assert quarter_bounds("2026-Q3") == (date(2026, 7, 1), date(2026, 9, 30))
    assert quarter_bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_bounds("2027-Q1") == (date(2027, 1, 1), date(2027, 3, 31))
    assert financial_quarter(date(2026, 7, 1)) == "2026/27 Q2"
    assert financial_quarter(date(2027, 1, 1)) == "2026/27 Q4"
    with pytest.raises(ValueError):
        quarter_bounds("2026-Q5")


def test_counts_only_what_happened_in_the_quarter() -> None:
    cases = [
        CaseSummary(
            "RRV",
            "Examplimab",
            (
                Event(Milestone.RECEIVED, Q3_DAY),
                Event(Milestone.DECISION, Q3_DAY, "approved"),
                Event(Milestone.REVIEW_REQUESTED, AFTER),
            ),
            (ClockRecord("acknowledge", date(2026, 8, 5), date(2026, 8, 4), False),),
        ),
        CaseSummary(
            "RRV",
            "Otherumab",
            (
                Event(Milestone.RECEIVED, BEFORE),
                Event(Milestone.SCREENED_OUT, Q3_DAY, reasons=("cohort", "incomplete")),
            ),
            (
                ClockRecord("screening_outcome", date(2026, 7, 10), date(2026, 8, 3), False),
                ClockRecord("panel_decision", date(2026, 7, 20), None, True),
            ),
        ),
        CaseSummary(
            "RGT",
            "Examplimab",
            (Event(Milestone.RECEIVED, Q3_DAY), Event(Milestone.DECISION, Q3_DAY, "declined")),
            (ClockRecord("panel_decision", date(2026, 9, 1), None, False),),
        ),
    ]
    report = quarterly_return(cases, "2026-Q3", today=date(2027, 1, 1))
    totals = report["totals"]
    assert (totals["received"], totals["screened_out"], totals["heard_by_panel"]) == (2, 1, 2)
    assert (totals["approved"], totals["declined"], totals["reviews_requested"]) == (1, 1, 0)
    assert report["screened_out_by_reason"] == {"cohort": 1, "incomplete": 1}
    assert report["by_trust"]["RRV"]["received"] == 1 and report["by_trust"]["RGT"]["declined"] == 1
    assert report["by_treatment"]["Examplimab"]["heard_by_panel"] == 2
    assert report["timeliness"]["acknowledge"] == {"met": 1, "missed": 0, "open_overdue": 0, "met_pct": 100.0}
    assert report["timeliness"]["screening_outcome"]["missed"] == 1
    assert report["timeliness"]["panel_decision"]["open_overdue"] == 1  # the cancelled one is not counted
    rows = csv_rows(report)
    assert {"quarter": "2026-Q3", "section": "by_trust", "group": "RGT", "measure": "declined", "value": 1} in rows


def test_open_clocks_are_overdue_only_up_to_today_while_the_quarter_runs() -> None:
    case = CaseSummary("RRV", "X", (), (ClockRecord("triage", date(2026, 8, 20), None, False),))
    assert quarterly_return([case], "2026-Q3", today=date(2026, 8, 10))["timeliness"]["triage"]["open_overdue"] == 0
    assert quarterly_return([case], "2026-Q3", today=date(2026, 8, 21))["timeliness"]["triage"]["open_overdue"] == 1
    paused = CaseSummary("RRV", "X", (), (ClockRecord("triage", date(2026, 8, 20), None, False, paused=True),))
    assert quarterly_return([paused], "2026-Q3")["timeliness"]["triage"]["open_overdue"] == 0
