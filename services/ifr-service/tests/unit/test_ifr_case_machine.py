"""The case's transition table: the paths of the IFR process, and nothing else."""

import pytest

from casework.state_machine import IllegalTransition
from ifr_service.domain.case import (
    CASE,
    FINAL_STATES,
    STAGE_OF,
    Action,
    CaseState,
    GuardFailed,
    allowed_actions,
    check_review_follow_up,
    panel_kind_for,
    refusal,
)

S, A = CaseState, Action


def walk(*actions: Action, start: CaseState = S.DRAFT) -> CaseState:
    state = start
    for action in actions:
        state = CaseState(CASE.next_state(state, action))
    return state


def test_the_main_path_to_approval_and_closure() -> None:
    assert walk(A.SUBMIT, A.ACKNOWLEDGE, A.SCREEN, A.LIST_FOR_PANEL, A.DECIDE, A.CLOSE) == S.CLOSED


def test_information_round_trip_pauses_and_resumes_screening() -> None:
    state = walk(A.SUBMIT, A.ACKNOWLEDGE, A.SCREEN, A.REQUEST_INFORMATION)
    assert state == S.RETURNED_FOR_INFORMATION
    assert walk(A.PROVIDE_INFORMATION, start=state) == S.RESUBMITTED
    assert walk(A.PROVIDE_INFORMATION, A.REQUEST_INFORMATION, A.PROVIDE_INFORMATION, A.SCREEN, start=state) == (
        S.SCREENING
    )


def test_reconsideration_and_review_go_back_to_panels() -> None:
    decided = walk(A.SUBMIT, A.ACKNOWLEDGE, A.SCREEN, A.LIST_FOR_PANEL, A.DECIDE)
    assert walk(A.REQUEST_RECONSIDERATION, A.LIST_FOR_PANEL, A.DECIDE, start=decided) == S.DECIDED
    reviewed = walk(A.REQUEST_REVIEW, A.LIST_FOR_PANEL, A.DECIDE_REVIEW, start=decided)
    assert reviewed == S.REVIEW_DECIDED
    assert walk(A.LIST_FOR_PANEL, A.DECIDE, start=reviewed) == S.DECIDED


def test_withdrawal_only_before_a_decision() -> None:
    withdrawable = {s for s in CaseState if CASE.can(s, A.WITHDRAW)}
    assert withdrawable == {
        S.DRAFT,
        S.RECEIVED,
        S.ACKNOWLEDGED,
        S.SCREENING,
        S.RETURNED_FOR_INFORMATION,
        S.RESUBMITTED,
        S.LISTED_FOR_PANEL,
    }


def test_every_state_is_reachable_from_draft_and_only_closed_and_withdrawn_are_final() -> None:
    assert CASE.reachable(S.DRAFT) == {s.value for s in CaseState}
    assert CASE.final_states() == {s.value for s in FINAL_STATES}
    assert set(STAGE_OF) == set(CaseState)
    assert CASE.actions == {a.value for a in Action}


def test_illegal_move_names_state_and_allowed_actions() -> None:
    with pytest.raises(IllegalTransition) as caught:
        CASE.next_state(S.RECEIVED, A.DECIDE)
    assert caught.value.state == "received"
    assert caught.value.allowed == ["acknowledge", "withdraw"]


def test_after_review_upheld_closes_and_flawed_goes_back_to_panel() -> None:
    check_review_follow_up(A.CLOSE, "upheld")
    check_review_follow_up(A.LIST_FOR_PANEL, "flawed")
    with pytest.raises(GuardFailed):
        check_review_follow_up(A.LIST_FOR_PANEL, "upheld")
    with pytest.raises(GuardFailed):
        check_review_follow_up(A.CLOSE, "flawed")


def test_allowed_actions_after_a_review_follow_its_outcome() -> None:
    assert CASE.allowed(S.REVIEW_DECIDED) == ["close", "list-for-panel"]  # the table has both ways on
    assert allowed_actions(S.REVIEW_DECIDED, urgent=False, review_outcome="flawed") == ["list-for-panel"]
    assert allowed_actions(S.REVIEW_DECIDED, urgent=True, review_outcome="upheld") == ["close"]
    assert "flawed" in (refusal(S.REVIEW_DECIDED, A.CLOSE, False, "flawed") or "")
    assert "upheld" in (refusal(S.REVIEW_DECIDED, A.LIST_FOR_PANEL, False, "upheld") or "")
    assert refusal(S.REVIEW_DECIDED, A.CLOSE, False, "upheld") is None
    # the outcome of an earlier review does not limit a later state
    assert allowed_actions(S.DECIDED, urgent=False, review_outcome="flawed") == CASE.allowed(S.DECIDED)
    assert "routine" in (refusal(S.SCREENING, A.CHAIRS_ACTION, False) or "")


def test_a_review_is_heard_by_a_review_panel() -> None:
    assert panel_kind_for(S.REVIEW) == "review"
    assert panel_kind_for(S.SCREENING) == panel_kind_for(S.RECONSIDERATION) == "ifr"
