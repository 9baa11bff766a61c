"""Urgent decisions by chair's action, ratified (or overturned) at the next quorate panel: the table's
paths, the guards, who may act, the ratification clock and what the return counts. Pure: no database."""

from datetime import date
from decimal import Decimal

import pytest

from casework.state_machine import IllegalTransition
from ifr_service.domain.case import (
    CASE,
    RATIFICATION_STATES,
    STAGE_OF,
    Action,
    CaseState,
    DecisionTerms,
    GuardFailed,
    Stage,
    allowed_actions,
    check_chairs_action,
    check_overturn,
    check_ratification_meeting,
)
from ifr_service.domain.clocks import (
    DEFAULT_DAYS,
    Clock,
    ClockSpan,
    ClockStatus,
    apply_plan,
    new_clocks,
    plan_for,
    status,
)
from ifr_service.domain.panel import Member, chairs_action_refusal
from ifr_service.domain.report import CaseSummary, Event, Milestone, quarterly_return

S, A = CaseState, Action


def walk(start: CaseState, *actions: Action) -> CaseState:
    state = start
    for action in actions:
        state = CaseState(CASE.next_state(state, action))
    return state


def test_chairs_action_where_a_panel_would_decide_next_then_ratify_or_overturn() -> None:
    takes_chairs_action = {s for s in CaseState if CASE.can(s, A.CHAIRS_ACTION)}
    assert takes_chairs_action == {S.SCREENING, S.RESUBMITTED, S.LISTED_FOR_PANEL, S.RECONSIDERATION}
    for start in takes_chairs_action:
        assert walk(start, A.CHAIRS_ACTION) == S.AWAITING_RATIFICATION
    assert walk(S.AWAITING_RATIFICATION, A.LIST_FOR_PANEL, A.RATIFY) == S.DECIDED
    assert walk(S.AWAITING_RATIFICATION, A.LIST_FOR_PANEL, A.LIST_FOR_PANEL, A.OVERTURN) == S.DECIDED
    assert {STAGE_OF[s] for s in RATIFICATION_STATES} == {Stage.PANEL}


def test_a_chairs_action_cannot_be_withdrawn_closed_or_ratified_before_a_panel_lists_it() -> None:
    assert CASE.allowed(S.AWAITING_RATIFICATION) == ["list-for-panel"]
    assert CASE.allowed(S.LISTED_FOR_RATIFICATION) == ["list-for-panel", "overturn", "ratify"]
    with pytest.raises(IllegalTransition) as caught:
        CASE.next_state(S.AWAITING_RATIFICATION, A.RATIFY)
    assert caught.value.allowed == ["list-for-panel"]
    for action in (A.WITHDRAW, A.CLOSE, A.REQUEST_REVIEW, A.DECIDE):
        assert not CASE.can(S.AWAITING_RATIFICATION, action)
    # ratify and overturn only after a chair's action
    assert {s for s in CaseState if CASE.can(s, A.RATIFY) or CASE.can(s, A.OVERTURN)} == {S.LISTED_FOR_RATIFICATION}


def test_chairs_action_is_offered_and_allowed_only_for_urgent_cases() -> None:
    assert "chairs-action" in allowed_actions(S.SCREENING, urgent=True)
    assert "chairs-action" not in allowed_actions(S.SCREENING, urgent=False)
    assert allowed_actions(S.LISTED_FOR_PANEL, urgent=False) == ["decide", "withdraw"]
    check_chairs_action(urgent=True)
    with pytest.raises(GuardFailed, match="only for urgent requests"):
        check_chairs_action(urgent=False)


def test_ratification_is_at_a_meeting_on_or_after_the_chairs_action() -> None:
    check_ratification_meeting(date(2026, 11, 20), date(2026, 11, 20))
    check_ratification_meeting(date(2026, 12, 1), date(2026, 11, 20))
    with pytest.raises(GuardFailed, match="2026-11-19"):
        check_ratification_meeting(date(2026, 11, 19), date(2026, 11, 20))


def test_overturning_must_change_the_decision() -> None:
    chair = DecisionTerms("approved", (), Decimal("15000.00"))
    with pytest.raises(GuardFailed, match="ratify it instead"):
        check_overturn(chair, DecisionTerms("approved", (), Decimal("15000")))
    check_overturn(chair, DecisionTerms("declined"))
    check_overturn(chair, DecisionTerms("approved", (), Decimal("12000.00")))
    check_overturn(chair, DecisionTerms("approved_with_conditions", ("stop on progression",), Decimal("15000.00")))


PANEL = [
    Member("chair-1", "chair", True),
    Member("deputy-1", "deputy_chair", True),
    Member("doc-1", "clinician", True),
]


def test_only_an_ifr_panels_chair_or_deputy_without_a_conflict_takes_chairs_action() -> None:
    assert chairs_action_refusal("ifr", PANEL, "chair-1", []) is None
    assert chairs_action_refusal("ifr", PANEL, "deputy-1", ["doc-1"]) is None
    assert "only its chair or deputy chair" in str(chairs_action_refusal("ifr", PANEL, "doc-1", []))
    assert "not a member" in str(chairs_action_refusal("ifr", PANEL, "stranger", []))
    assert "conflict" in str(chairs_action_refusal("ifr", PANEL, "chair-1", ["chair-1"]))
    assert "review panel" in str(chairs_action_refusal("review", PANEL, "chair-1", []))


def test_chairs_action_stops_the_decision_clocks_and_starts_ratification_across_christmas() -> None:
    on = date(2026, 12, 18)  # Friday
    clocks = [
        ClockSpan(Clock.PANEL_DECISION, date(2026, 12, 14), 5),
        ClockSpan(Clock.DECISION_LETTER, date(2027, 1, 6), 1),  # from the meeting it was listed for
    ]
    plan = plan_for(Action.CHAIRS_ACTION, S.LISTED_FOR_PANEL)
    apply_plan(plan, clocks, on)
    assert [c.stopped_on for c in clocks] == [on, None] and clocks[1].cancelled
    [ratification] = new_clocks(plan, DEFAULT_DAYS, True, on)
    # 21-24 Dec, 29-31 Dec (25 and Boxing Day observed on the 28th, 1 Jan are bank holidays), 4-20 Jan
    assert (ratification.clock, ratification.due_date) == (Clock.RATIFICATION, date(2027, 1, 20))
    # listing for ratification starts nothing (no new decision letter clock); ratifying stops it, met
    assert plan_for(Action.LIST_FOR_PANEL, S.AWAITING_RATIFICATION).start == ()
    ratify = plan_for(Action.RATIFY)
    apply_plan(ratify, [ratification], date(2027, 1, 13))
    assert ratification.stopped_on == date(2027, 1, 13)
    assert ratify.start == plan_for(Action.OVERTURN).start == (Clock.REVIEW_WINDOW,)
    late = ClockSpan(Clock.RATIFICATION, on, 20)
    apply_plan(plan_for(Action.OVERTURN), [late], date(2027, 1, 21))
    assert status(late) == ClockStatus.MISSED


def test_the_return_counts_chairs_actions_ratifications_and_overturns() -> None:
    day = date(2026, 8, 3)
    ratified = CaseSummary(
        "RRV", "Drug A", (Event(Milestone.CHAIRS_ACTION, day, "approved"), Event(Milestone.RATIFIED, day))
    )
    overturned = CaseSummary(
        "RGT",
        "Drug A",
        (Event(Milestone.CHAIRS_ACTION, day, "approved"), Event(Milestone.OVERTURNED, day, "declined")),
    )
    totals = quarterly_return([ratified, overturned], "2026-Q3")["totals"]
    assert {k: v for k, v in totals.items() if v} == {
        "decided_by_chairs_action": 2,
        "approved": 2,
        "ratified": 1,
        "overturned": 1,
        "heard_by_panel": 1,
        "declined": 1,
    }
