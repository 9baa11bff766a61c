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
