from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.state_machine import IllegalTransition
from cdf_service.domain.national_list import Criterion, EntryStatus, ListEntry
from cdf_service.domain.prior_approval import (
    TRANSITIONS,
    ApplicationAction,
    ApplicationState,
    Approval,
    UnknownCriteria,
    allowed_actions,
    apply_action,
    decide_application,
    has_lapsed,
    initial_state,
    lapse_due_date,
)


def make_entry(**overrides: Any) -> ListEntry:
    fields: dict[str, Any] = {
        "entry_id": "CDF-0001",
        "version": 3,
        "drug_name": "Examplimab",
        "dmd_id": "3762811000001103",
        "indication": "Advanced NSCLC",
        "regimen": "Examplimab 200 mg every 21 days",
        "criteria": (
            Criterion("C1", "Histologically confirmed NSCLC"),
            Criterion("C2", "ECOG performance status 0 or 1"),
            Criterion("C3", "Optional outcome registry", mandatory=False),
        ),
        "cost_per_cycle": Decimal("2500.00"),
        "cycle_length_days": 21,
        "expected_cycles": 8,
        "managed_access_start": date(2026, 1, 1),
        "managed_access_end": date(2027, 12, 31),
        "status": EntryStatus.OPEN,
        "effective_from": date(2026, 1, 1),
    }
    fields.update(overrides)
    return ListEntry(**fields)


START = date(2026, 5, 11)


def test_all_mandatory_met_open_and_consented_is_approved_at_once() -> None:
    decision = decide_application(make_entry(), {"C1": True, "C2": True}, START, consent_confirmed=True)
    assert decision.approved
    assert decision.unmet_criteria == () and decision.reasons == ()
    assert (decision.entry_id, decision.entry_version) == ("CDF-0001", 3)
    assert initial_state(decision) is ApplicationState.APPROVED


def test_each_unmet_or_unanswered_mandatory_criterion_is_named() -> None:
    decision = decide_application(make_entry(), {"C2": False, "C3": False}, START, consent_confirmed=True)
    assert not decision.approved
    assert decision.unmet_criteria == ("C1", "C2")  # C3 is optional: answering False is fine
    assert decision.reasons == (
        "criterion C1 (Histologically confirmed NSCLC) is not answered",
        "criterion C2 (ECOG performance status 0 or 1) is not met",
    )
    assert initial_state(decision) is ApplicationState.REJECTED


def test_missing_consent_rejects_without_unmet_criteria() -> None:
    decision = decide_application(make_entry(), {"C1": True, "C2": True}, START, consent_confirmed=False)
    assert not decision.approved
    assert decision.unmet_criteria == ()
    assert decision.reasons == ("patient consent to data collection is not confirmed",)


@pytest.mark.parametrize(
    ("overrides", "planned", "fragment"),
    [
        ({"status": EntryStatus.CLOSED}, START, "closed to new applications"),
        ({}, date(2025, 12, 31), "before managed access starts (2026-01-01)"),
        ({}, date(2028, 1, 1), "after managed access ends (2027-12-31)"),
    ],
)
def test_entry_not_open_on_planned_start_rejects(overrides: dict[str, Any], planned: date, fragment: str) -> None:
    decision = decide_application(make_entry(**overrides), {"C1": True, "C2": True}, planned, True)
    assert not decision.approved
    assert len(decision.reasons) == 1 and fragment in decision.reasons[0]


def test_unknown_criteria_codes_raise_with_the_bad_codes() -> None:
    with pytest.raises(UnknownCriteria) as err:
        decide_application(make_entry(), {"C1": True, "C2": True, "Z9": True, "A0": False}, START, True)
    assert err.value.codes == ("A0", "Z9")
    assert err.value.entry_id == "CDF-0001"


@given(answers=st.dictionaries(st.sampled_from(["C1", "C2", "C3"]), st.booleans()), consent=st.booleans())
def test_approved_exactly_when_every_mandatory_is_true_and_consented(answers: dict[str, bool], consent: bool) -> None:
    decision = decide_application(make_entry(), answers, START, consent)
    mandatory_ok = answers.get("C1") is True and answers.get("C2") is True
    assert decision.approved is (mandatory_ok and consent)
    assert decision.approved is (not decision.reasons)


def test_happy_life_cycle() -> None:
    state = ApplicationState.APPROVED
    state = apply_action(state, ApplicationAction.START_TREATMENT)
    assert state is ApplicationState.TREATMENT_STARTED
    assert apply_action(state, "stop_treatment") is ApplicationState.TREATMENT_STOPPED


@pytest.mark.parametrize(
    ("action", "end"),
    [("lapse", ApplicationState.LAPSED), ("withdraw", ApplicationState.WITHDRAWN)],
)
def test_approved_can_lapse_or_be_withdrawn(action: str, end: ApplicationState) -> None:
    assert apply_action(ApplicationState.APPROVED, action) is end


def test_withdrawal_is_allowed_during_treatment_but_not_after_it() -> None:
    assert apply_action(ApplicationState.TREATMENT_STARTED, "withdraw") is ApplicationState.WITHDRAWN
    with pytest.raises(IllegalTransition):
        apply_action(ApplicationState.TREATMENT_STOPPED, "withdraw")


def test_illegal_move_names_state_and_allowed_actions() -> None:
    with pytest.raises(IllegalTransition) as err:
        apply_action(ApplicationState.TREATMENT_STARTED, ApplicationAction.LAPSE)
    assert err.value.state == "treatment_started"
    assert err.value.allowed == ["stop_treatment", "withdraw"]
    assert "cannot lapse in state treatment_started; allowed: stop_treatment, withdraw" in str(err.value)


def test_unknown_action_is_an_illegal_transition() -> None:
    with pytest.raises(IllegalTransition, match="allowed: lapse, start_treatment, withdraw"):
        apply_action(ApplicationState.APPROVED, "explode")


@pytest.mark.parametrize(
    "state",
    [
        ApplicationState.REJECTED,
        ApplicationState.LAPSED,
        ApplicationState.WITHDRAWN,
        ApplicationState.TREATMENT_STOPPED,
    ],
)
def test_final_states_allow_nothing(state: ApplicationState) -> None:
    assert allowed_actions(state) == ()
    for action in ApplicationAction:
        with pytest.raises(IllegalTransition, match="none \\(final state\\)"):
            apply_action(state, action)


def test_the_table_knows_only_real_states_and_every_non_final_state() -> None:
    assert TRANSITIONS.states <= set(ApplicationState)
    assert TRANSITIONS.final_states() | {"rejected"} == {
        "rejected",
        "lapsed",
        "withdrawn",
        "treatment_stopped",
    }
    assert allowed_actions(ApplicationState.APPROVED) == (
        ApplicationAction.START_TREATMENT,
        ApplicationAction.LAPSE,
        ApplicationAction.WITHDRAW,
    )


def test_lapse_due_date_counts_calendar_days() -> None:
    # 28 calendar days after Monday 11 May 2026 (the Spring bank holiday on 25 May is not skipped).
    assert lapse_due_date(START) == date(2026, 6, 8)
    assert lapse_due_date(START, 14) == date(2026, 5, 25)
    with pytest.raises(ValueError):
        lapse_due_date(START, -1)


APPROVAL = Approval("APP-1", "CDF-0001", 3, "RRV", planned_start=START)


@pytest.mark.parametrize(
    ("today", "first_admin", "lapsed"),
    [
        (date(2026, 6, 8), None, False),  # due date itself: still inside the window
        (date(2026, 6, 9), None, True),  # day after: lapsed
        (date(2026, 9, 1), date(2026, 6, 8), False),  # started on the last allowed day
        (date(2026, 9, 1), date(2026, 5, 4), False),  # started a week early
        (date(2026, 9, 1), date(2026, 6, 9), True),  # started too late: the approval had lapsed
    ],
)
def test_has_lapsed(today: date, first_admin: date | None, lapsed: bool) -> None:
    assert has_lapsed(APPROVAL, today, first_admin) is lapsed


def test_has_lapsed_uses_the_approval_window() -> None:
    short = Approval("APP-2", "CDF-0001", 3, "RRV", planned_start=START, lapse_window_days=7)
    assert has_lapsed(short, START + timedelta(days=8), None)
    assert not has_lapsed(APPROVAL, START + timedelta(days=8), None)
