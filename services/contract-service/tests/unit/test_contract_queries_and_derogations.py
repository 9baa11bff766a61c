"""Transition tables of validation queries and derogations; commitment releases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from casework.state_machine import IllegalTransition
from contract_service.domain.commitments import CommitmentStatus, funds_ifr, release
from contract_service.domain.derogations import DEROGATION_MACHINE, check_new_due_date, is_overdue
from contract_service.domain.validation_queries import (
    QUERY_MACHINE,
    funded_adjustment,
    line_funding_after,
    query_reference,
    respond_by,
    unapproved_use_subject,
)


def test_query_lifecycle_and_funded_adjustment() -> None:
    assert QUERY_MACHINE.next_state("raised", "dispute") == "disputed"
    assert QUERY_MACHINE.next_state("disputed", "accept_evidence") == "evidence_accepted"
    assert QUERY_MACHINE.final_states() == {"accepted", "upheld", "evidence_accepted", "withdrawn"}
    with pytest.raises(IllegalTransition) as caught:
        QUERY_MACHINE.next_state("accepted", "dispute")
    assert caught.value.allowed == []
    with pytest.raises(IllegalTransition):
        QUERY_MACHINE.next_state("raised", "uphold_challenge")  # only a dispute is settled by the commissioner
    value = Decimal("812.40")
    assert funded_adjustment("evidence_accepted", value) == value
    assert funded_adjustment("upheld", value) == 0 and funded_adjustment("accepted", value) == 0
    assert [line_funding_after(s) for s in ("raised", "upheld", "withdrawn")] == [
        "challenged",
        "not_funded",
        "funded_on_resolution",
    ]


def test_query_reference_and_response_date_on_working_days() -> None:
    assert query_reference("RRV", "2026-05", 1) == "VQ-RRV-2026-05-001"
    # Wednesday 26 Aug 2026 + 5 working days skips the weekend and the bank holiday on Monday 31 Aug
    assert respond_by(date(2026, 8, 26), 5) == date(2026, 9, 3)


def test_derogation_moves_and_due_dates() -> None:
    assert DEROGATION_MACHINE.next_state("proposed", "agree") == "agreed"
    assert DEROGATION_MACHINE.next_state("breached", "agree-recovery") == "agreed"
    assert DEROGATION_MACHINE.allowed("agreed") == ["breach", "deliver", "extend", "withdraw"]
    with pytest.raises(IllegalTransition):
        DEROGATION_MACHINE.next_state("delivered", "breach")
    assert check_new_due_date("extend", date(2026, 9, 1), None) == "extend needs a new due_date"
    assert check_new_due_date("extend", date(2026, 9, 1), date(2026, 8, 1)) is not None
    assert check_new_due_date("extend", date(2026, 9, 1), date(2026, 10, 1)) is None
    assert is_overdue("agreed", date(2026, 9, 1), date(2026, 9, 2))
    assert not is_overdue("delivered", date(2026, 9, 1), date(2026, 9, 2))


def test_release_reduces_to_what_was_spent() -> None:
    stopped = release(Decimal(1000), CommitmentStatus.STOPPED, Decimal(400))
    assert (stopped.amount, stopped.released) == (Decimal(400), Decimal(600))
    lapsed = release(Decimal(1000), CommitmentStatus.LAPSED, Decimal(0))
    assert (lapsed.amount, lapsed.released) == (Decimal(0), Decimal(1000))
    over = release(Decimal(1000), CommitmentStatus.STOPPED, Decimal(1500))
    assert (over.amount, over.released) == (Decimal(1000), Decimal(0))  # never raises a commitment
    assert funds_ifr("approved_with_conditions") and funds_ifr("APPROVED") and not funds_ifr("declined")


def test_an_unapproved_use_query_says_what_it_is_about_without_patient_detail() -> None:
    assert unapproved_use_subject("Pembrolizumab", date(2026, 5, 8), 1) == (
        "Unapproved CDF use of Pembrolizumab, first given 08 May 2026 (1 cycle in SACT)"
    )
    assert unapproved_use_subject("Nivolumab", date(2027, 1, 2), 3).endswith("(3 cycles in SACT)")
