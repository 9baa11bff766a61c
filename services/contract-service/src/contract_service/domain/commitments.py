"""Funded commitments from CDF approvals and IFR decisions, and what ends them (pure).

An approval commits its expected cost on a budget line. What was not spent is released when the
approval lapses (never started: nothing spent), is withdrawn (spent = what the drug returns show
against it so far) or the treatment stops (spent = the cost to date CDF reports). A release never
raises a commitment and never takes it below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class CommitmentStatus(StrEnum):
    COMMITTED = "committed"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    DECLINED = "declined"  # a later IFR decision (reconsideration / review) declined it


# IFR outcomes that fund the treatment.
FUNDING_IFR_OUTCOMES = frozenset({"approved", "approved_with_conditions"})


@dataclass(frozen=True)
class Release:
    status: CommitmentStatus
    amount: Decimal  # the commitment after the release
    released: Decimal  # what went back to the budget line


def release(current: Decimal, status: CommitmentStatus, spent: Decimal) -> Release:
    """Reduce a commitment of `current` to what was spent (bounded to 0 .. current)."""
    remaining = min(current, max(Decimal(0), spent))
    return Release(status, remaining, current - remaining)


def funds_ifr(outcome: str) -> bool:
    return outcome.lower() in FUNDING_IFR_OUTCOMES


# -- IFR: a request may be decided more than once --------------------------------------------------


class IfrChange(StrEnum):
    """What a decision that stands does to the request's one commitment."""

    NONE = "none"  # nothing funded before or now, or the same amount again
    COMMIT = "commit"  # the first funding decision
    RECOMMIT = "recommit"  # funded again after a decline
    INCREASE = "increase"
    REDUCE = "reduce"
    RELEASE = "release"  # declined after an approval: what was not spent goes back


def is_stale(last_applied: int | None, number: int | None) -> bool:
    """A numbered decision at or below the last one applied is late or repeated: the later one
    stands. Unnumbered decisions (older producers) are applied in arrival order, as they always were."""
    return number is not None and last_applied is not None and number <= last_applied


def ifr_change(
    status: CommitmentStatus | str | None, committed: Decimal | None, funds: bool, amount: Decimal
) -> IfrChange:
    """The change a decision makes given the commitment as it stands (`status` None: none yet)."""
    if status is None:
        return IfrChange.COMMIT if funds else IfrChange.NONE
    if status == CommitmentStatus.DECLINED:
        return IfrChange.RECOMMIT if funds else IfrChange.NONE
    if status != CommitmentStatus.COMMITTED:
        return IfrChange.NONE  # ended another way: a decision does not revive it
    if not funds:
        return IfrChange.RELEASE
    if committed is None or amount == committed:
        return IfrChange.NONE
    return IfrChange.INCREASE if amount > committed else IfrChange.REDUCE
