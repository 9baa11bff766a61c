"""Stage clocks on fixed examples: weekends, Christmas and New Year, Easter, information pauses.

Expected dates are counted by hand on the England calendar (2026: Christmas Fri 25 Dec, Boxing Day
observed Mon 28 Dec; 2027: New Year Fri 1 Jan, Good Friday 26 Mar, Easter Monday 29 Mar).
"""

from datetime import date

from ifr_service.domain.case import Action
from ifr_service.domain.clocks import (
    DEFAULT_DAYS,
    Alert,
    Clock,
    ClockSpan,
    ClockStatus,
    alert_due,
    apply_plan,
    cancel,
    due_date,
    new_clocks,
    next_due,
    pause,
    plan_for,
    projected_due,
    resume,
    status,
    stop,
)


def started(on: date, urgent: bool = False) -> dict[str, ClockSpan]:
    return {c.clock: c for c in new_clocks(plan_for(Action.SUBMIT), DEFAULT_DAYS, urgent, on)}


def test_routine_clocks_across_christmas_and_new_year() -> None:
    clocks = started(date(2026, 12, 23))  # Wednesday
    assert clocks[Clock.ACKNOWLEDGE].due_date == date(2026, 12, 29)  # Thu 24, Tue 29
    assert clocks[Clock.TRIAGE].due_date == date(2027, 1, 4)  # 24, 29, 30, 31, Mon 4 Jan
    assert clocks[Clock.SCREENING_OUTCOME].due_date == date(2027, 1, 11)
    assert clocks[Clock.PANEL_DECISION].due_date == date(2027, 1, 25)


def test_urgent_same_day_on_a_bank_holiday_falls_on_the_next_working_day() -> None:
    on_christmas_eve = started(date(2026, 12, 24), urgent=True)
    assert on_christmas_eve[Clock.ACKNOWLEDGE].due_date == date(2026, 12, 24)
    on_christmas_day = started(date(2026, 12, 25), urgent=True)
    assert on_christmas_day[Clock.ACKNOWLEDGE].due_date == date(2026, 12, 29)  # 28th is Boxing Day observed
    assert on_christmas_day[Clock.TRIAGE].due_date == date(2026, 12, 30)
    assert on_christmas_day[Clock.SCREENING_OUTCOME].due_date == date(2026, 12, 31)
    assert on_christmas_day[Clock.PANEL_DECISION].due_date == date(2027, 1, 6)  # 30, 31, 4, 5, 6


def test_easter_2027() -> None:
    clocks = started(date(2027, 3, 25))  # Thursday before Good Friday
    assert clocks[Clock.ACKNOWLEDGE].due_date == date(2027, 3, 31)  # Tue 30, Wed 31
    assert clocks[Clock.TRIAGE].due_date == date(2027, 4, 5)  # 30, 31, 1, 2, Mon 5 Apr


def test_weekend_receipt_counts_from_monday() -> None:
    clocks = started(date(2026, 11, 21))  # Saturday
    assert clocks[Clock.ACKNOWLEDGE].due_date == date(2026, 11, 25)


def test_information_pause_moves_due_dates_by_the_working_days_waited() -> None:
    clocks = started(date(2026, 12, 7))  # Monday
    screening = clocks[Clock.SCREENING_OUTCOME]
    assert screening.due_date == date(2026, 12, 21)
    apply_plan(plan_for(Action.ACKNOWLEDGE), clocks.values(), date(2026, 12, 8))
    apply_plan(plan_for(Action.REQUEST_INFORMATION), clocks.values(), date(2026, 12, 10))
    assert status(screening) == ClockStatus.PAUSED
    assert alert_due(screening, date(2027, 1, 4), warning_days=2) is None  # paused clocks never alert
    assert status(clocks[Clock.TRIAGE]) == ClockStatus.MET  # the completeness check ended in the request
    assert next_due(clocks.values()) is None  # only running clocks have a next due date
    # 15 working days after Thu 10 Dec up to Tue 5 Jan (Christmas, Boxing Day, New Year excluded)
    assert projected_due(screening, date(2027, 1, 5)) == date(2027, 1, 14)
    apply_plan(plan_for(Action.PROVIDE_INFORMATION), clocks.values(), date(2027, 1, 5))
    assert screening.paused_days == 15
    assert screening.due_date == date(2027, 1, 14)
    assert status(screening) == ClockStatus.RUNNING


def test_two_pauses_add_up() -> None:
    c = ClockSpan(Clock.SCREENING_OUTCOME, date(2026, 11, 2), 10)  # due Mon 16 Nov
    assert c.due_date == date(2026, 11, 16)
    pause(c, date(2026, 11, 4))
    resume(c, date(2026, 11, 6))  # Thu 5, Fri 6: 2 days
    pause(c, date(2026, 11, 13))
    resume(c, date(2026, 11, 16))  # Mon 16: 1 day
    assert c.paused_days == 3
    assert c.due_date == date(2026, 11, 19)


def test_stop_met_or_missed_and_cancel() -> None:
    on_time = ClockSpan(Clock.ACKNOWLEDGE, date(2026, 11, 2), 2)
    stop(on_time, date(2026, 11, 4))
    late = ClockSpan(Clock.ACKNOWLEDGE, date(2026, 11, 2), 2)
    stop(late, date(2026, 11, 5))
    dropped = ClockSpan(Clock.PANEL_DECISION, date(2026, 11, 2), 20)
    cancel(dropped)
    assert [status(on_time), status(late), status(dropped)] == [ClockStatus.MET, ClockStatus.MISSED, "cancelled"]


def test_alerts_once_approaching_then_breached() -> None:
    c = ClockSpan(Clock.TRIAGE, date(2026, 11, 2), 5)  # due Mon 9 Nov
    assert alert_due(c, date(2026, 11, 3), warning_days=2) is None
    assert alert_due(c, date(2026, 11, 5), warning_days=2) == Alert.APPROACHING  # Fri 6, Mon 9
    assert alert_due(c, date(2026, 11, 9), warning_days=2) == Alert.APPROACHING
    assert alert_due(c, date(2026, 11, 10), warning_days=2) == Alert.BREACHED
    window = ClockSpan(Clock.REVIEW_WINDOW, date(2026, 11, 2), 30)
    assert alert_due(window, date(2027, 1, 1), warning_days=2) is None  # the clinician's window is not swept


def test_action_plans() -> None:
    clocks = list(started(date(2026, 11, 2)).values())
    apply_plan(plan_for(Action.ACKNOWLEDGE), clocks, date(2026, 11, 3))
    apply_plan(plan_for(Action.SCREEN_OUT), clocks, date(2026, 11, 5))
    by = {c.clock: status(c) for c in clocks}
    assert by == {
        Clock.ACKNOWLEDGE: ClockStatus.MET,
        Clock.TRIAGE: ClockStatus.MET,
        Clock.SCREENING_OUTCOME: ClockStatus.MET,
        Clock.PANEL_DECISION: ClockStatus.CANCELLED,
    }
    assert plan_for(Action.PROVIDE_INFORMATION, "screened_out").start == (
        Clock.SCREENING_OUTCOME,
        Clock.PANEL_DECISION,
    )
    assert plan_for(Action.DECIDE_REVIEW, review_outcome="flawed").start == (Clock.PANEL_DECISION,)
    assert plan_for(Action.DECIDE_REVIEW, review_outcome="upheld").start == ()


def test_decision_letter_runs_from_the_meeting_date() -> None:
    meeting = {Clock.DECISION_LETTER: date(2026, 12, 21)}
    [letter] = new_clocks(plan_for(Action.LIST_FOR_PANEL), DEFAULT_DAYS, False, date(2026, 12, 1), meeting)
    assert letter.due_date == date(2026, 12, 30)  # Mon 21 Dec + 5: 22, 23, 24, 29, 30
    assert due_date(date(2026, 12, 21), 6) == date(2026, 12, 31)
