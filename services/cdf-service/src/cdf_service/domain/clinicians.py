"""Clinician registration: who may apply to the CDF for a trust.

Only registered consultants may apply (DOMAIN). A registration starts pending; the trust's CDF lead
confirms (or declines) it; a confirmed registration can later be revoked (the consultant left).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum

from casework.state_machine import TransitionTable

GMC_NUMBER = re.compile(r"^\d{7}$")


class RegistrationState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    REVOKED = "revoked"


class RegistrationAction(StrEnum):
    CONFIRM = "confirm"
    DECLINE = "decline"
    REVOKE = "revoke"


TRANSITIONS = TransitionTable(
    "cdf_clinician",
    {
        (RegistrationState.PENDING, RegistrationAction.CONFIRM): RegistrationState.CONFIRMED,
        (RegistrationState.PENDING, RegistrationAction.DECLINE): RegistrationState.DECLINED,
        (RegistrationState.CONFIRMED, RegistrationAction.REVOKE): RegistrationState.REVOKED,
    },
)
TRANSITIONS.check_covers(RegistrationState)


def email_problem(email: str, allowed_domains: Collection[str]) -> str | None:
    """Why the address cannot be used for CDF correspondence, or None.

    Decisions go to clinicians over accredited secure mail, so the address must be on an allowed
    domain (nhs.net by default; exact domain, not a look-alike suffix).
    """
    domain = email.rsplit("@", 1)[-1].lower()
    if domain not in {d.lower() for d in allowed_domains}:
        return f"must be an address on {', '.join(sorted(allowed_domains))} (secure NHS mail)"
    return None


def may_apply_problem(state: RegistrationState | str | None, trust_ods: str) -> str | None:
    """Why a clinician may not apply for the trust, or None when they may."""
    if state is None:
        return f"is not registered with the CDF at {trust_ods}"
    if state == RegistrationState.PENDING:
        return f"registration at {trust_ods} awaits confirmation by the trust's CDF lead"
    if state != RegistrationState.CONFIRMED:
        return f"registration at {trust_ods} is {state}"
    return None
