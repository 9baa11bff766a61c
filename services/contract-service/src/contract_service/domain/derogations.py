"""Derogations: time-limited exceptions from a service specification, with an action plan (pure).

A derogation is proposed, then agreed with an action plan and a due date. Delivery is monitored:
it is delivered, or its due date can be extended, or persistent non-delivery is recorded as a
breach; a breach leads to a recovery plan (back to agreed) or a sanction.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from casework.state_machine import TransitionTable


class DerogationStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    DELIVERED = "delivered"
    BREACHED = "breached"
    SANCTIONED = "sanctioned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DerogationAction(StrEnum):
    AGREE = "agree"
    REJECT = "reject"
    EXTEND = "extend"
    DELIVER = "deliver"
    BREACH = "breach"
    AGREE_RECOVERY = "agree-recovery"
    SANCTION = "sanction"
    WITHDRAW = "withdraw"


S, A = DerogationStatus, DerogationAction
DEROGATION_MACHINE = TransitionTable(
    "derogation",
    {
        (S.PROPOSED, A.AGREE): S.AGREED,
        (S.PROPOSED, A.REJECT): S.REJECTED,
        (S.PROPOSED, A.WITHDRAW): S.WITHDRAWN,
        (S.AGREED, A.EXTEND): S.AGREED,
        (S.AGREED, A.DELIVER): S.DELIVERED,
        (S.AGREED, A.BREACH): S.BREACHED,
        (S.AGREED, A.WITHDRAW): S.WITHDRAWN,
        (S.BREACHED, A.AGREE_RECOVERY): S.AGREED,
        (S.BREACHED, A.SANCTION): S.SANCTIONED,
    },
)
DEROGATION_MACHINE.check_covers(DerogationStatus)

# Actions that set a new due date (and so must carry one).
NEEDS_DUE_DATE = frozenset({A.EXTEND, A.AGREE_RECOVERY})


def is_overdue(status: str, due_date: date, today: date) -> bool:
    """Agreed but not delivered by its due date: what contract monitoring looks for."""
    return status == DerogationStatus.AGREED and today > due_date


def check_new_due_date(action: str, current_due: date, new_due: date | None) -> str | None:
    """Why the due date sent with `action` is not acceptable, or None."""
    if action in NEEDS_DUE_DATE and new_due is None:
        return f"{action} needs a new due_date"
    if action == A.EXTEND and new_due is not None and new_due <= current_due:
        return "an extension must move the due date later"
    return None
