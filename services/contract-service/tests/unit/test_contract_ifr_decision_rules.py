"""Superseding IFR decisions: which decision stands, and what it does to the request's commitment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contract_service.domain.commitments import CommitmentStatus, IfrChange, ifr_change, is_stale

D = Decimal


@pytest.mark.parametrize(
    ("applied", "number", "stale"),
    [
        (None, None, False),  # nothing applied, unnumbered
        (None, 1, False),
        (1, 2, False),
        (2, 2, True),  # the same decision again
        (3, 2, True),  # a late, superseded decision
        (3, None, False),  # an older producer: applied in arrival order
    ],
)
def test_only_a_later_numbered_decision_applies(applied: int | None, number: int | None, stale: bool) -> None:
    assert is_stale(applied, number) is stale


@pytest.mark.parametrize(
    ("status", "committed", "funds", "amount", "change"),
    [
        (None, None, True, D(5000), IfrChange.COMMIT),
        (None, None, False, D(0), IfrChange.NONE),  # declined with nothing committed
        (CommitmentStatus.COMMITTED, D(5000), False, D(0), IfrChange.RELEASE),
        (CommitmentStatus.COMMITTED, D(5000), True, D(5000), IfrChange.NONE),  # e.g. conditions added
        (CommitmentStatus.COMMITTED, D(5000), True, D(7000), IfrChange.INCREASE),
        (CommitmentStatus.COMMITTED, D(5000), True, D(3000), IfrChange.REDUCE),
        (CommitmentStatus.DECLINED, D(1200), True, D(5000), IfrChange.RECOMMIT),
        (CommitmentStatus.DECLINED, D(1200), False, D(0), IfrChange.NONE),
        ("committed", D(10), True, D(20), IfrChange.INCREASE),  # as read from the database
    ],
)
def test_a_standing_decision_changes_the_commitment(
    status: CommitmentStatus | str | None, committed: Decimal | None, funds: bool, amount: Decimal, change: IfrChange
) -> None:
    assert ifr_change(status, committed, funds, amount) == change
