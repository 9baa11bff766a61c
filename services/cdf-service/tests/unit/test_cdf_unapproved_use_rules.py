"""The unapproved-use life cycle and the rules of the trust's answer (pure: no database)."""

from __future__ import annotations

import pytest

from casework.state_machine import IllegalTransition
from cdf_service.domain.unapproved_use import (
    TRANSITIONS,
    ApprovalFacts,
    Detected,
    DetectionAction,
    DetectionState,
    answer_problems,
    reference_problem,
)

DETECTED = Detected("RRV", "p" * 64, "pembrolizumab")


def approval(**changes: str) -> ApprovalFacts:
    return ApprovalFacts(**({"reference": "CDF-1", "provider_ods": "RRV01", "patient_ref": "p" * 64,
                             "drug_key": "pembrolizumab", "status": "approved"} | changes))  # fmt: skip


def test_open_to_closed_through_an_answer_and_a_decision() -> None:
    state = DetectionState.OPEN
    for action, expected in (
        (DetectionAction.ANSWER, "answered"),
        (DetectionAction.CHALLENGE, "challenged"),
        (DetectionAction.ANSWER, "answered"),
        (DetectionAction.ACCEPT, "accepted"),
        (DetectionAction.CLOSE, "closed"),
    ):
        state = TRANSITIONS.next_state(state, action)
        assert state == expected
    assert TRANSITIONS.final_states() == {"closed"}


@pytest.mark.parametrize(
    ("state", "action"), [("open", "accept"), ("open", "close"), ("accepted", "answer"), ("closed", "challenge")]
)
def test_a_step_out_of_turn_is_refused_naming_what_is_allowed(state: str, action: str) -> None:
    with pytest.raises(IllegalTransition):
        TRANSITIONS.next_state(state, action)


def test_an_approval_covers_only_its_own_trust_patient_and_drug_while_it_authorises() -> None:
    assert reference_problem(DETECTED, approval(), "CDF-1") is None  # a site of the trust counts
    assert reference_problem(DETECTED, approval(status="treatment_stopped"), "CDF-1") is None
    assert "not an approval of this trust" in (reference_problem(DETECTED, None, "CDF-1") or "")
    assert "not an approval of this trust" in (reference_problem(DETECTED, approval(provider_ods="RJ1"), "X") or "")
    assert "another patient" in (reference_problem(DETECTED, approval(patient_ref="q" * 64), "X") or "")
    assert "another drug" in (reference_problem(DETECTED, approval(drug_key="nivolumab"), "X") or "")
    assert "lapsed" in (reference_problem(DETECTED, approval(status="lapsed"), "X") or "")
    assert "rejected" in (reference_problem(DETECTED, approval(status="rejected"), "X") or "")


def test_an_answer_is_a_reference_or_an_explanation() -> None:
    assert answer_problems("CDF-1", None) == [] and answer_problems(None, "given in error") == []
    assert [f for f, _ in answer_problems(None, None)] == ["approval_reference", "explanation"]
    assert [f for f, _ in answer_problems("CDF-1", "and why")] == ["explanation"]
