"""Unapproved use: a listed CDF drug SACT shows given with no approval covering it, followed up as a case.

The trust answers (the approval that does cover it, which is checked, or a written explanation); the
commissioner accepts the answer or challenges it; either way the commissioner then closes it. A
challenged use may be answered again. The life cycle is the table below; nothing else moves a detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from casework.state_machine import TransitionTable


class DetectionState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    ACCEPTED = "accepted"
    CHALLENGED = "challenged"
    CLOSED = "closed"


class DetectionAction(StrEnum):
    ANSWER = "answer"
    ACCEPT = "accept"
    CHALLENGE = "challenge"
    CLOSE = "close"


TRANSITIONS = TransitionTable(
    "cdf_unapproved_use",
    {
        (DetectionState.OPEN, DetectionAction.ANSWER): DetectionState.ANSWERED,
        (DetectionState.ANSWERED, DetectionAction.ACCEPT): DetectionState.ACCEPTED,
        (DetectionState.ANSWERED, DetectionAction.CHALLENGE): DetectionState.CHALLENGED,
        (DetectionState.CHALLENGED, DetectionAction.ANSWER): DetectionState.ANSWERED,
        (DetectionState.ACCEPTED, DetectionAction.CLOSE): DetectionState.CLOSED,
        (DetectionState.CHALLENGED, DetectionAction.CLOSE): DetectionState.CLOSED,
    },
)
TRANSITIONS.check_covers(DetectionState)

TRUST_ACTIONS = frozenset({DetectionAction.ANSWER})
COMMISSIONER_ACTIONS = frozenset({DetectionAction.ACCEPT, DetectionAction.CHALLENGE, DetectionAction.CLOSE})

# An approval covers the use only while it authorised treatment or did: approved, on treatment, or
# stopped after treatment. A rejected, lapsed or withdrawn one does not.
COVERING_STATES = frozenset({"approved", "treatment_started", "treatment_stopped"})


@dataclass(frozen=True)
class Detected:
    """What the approval-reference check compares: the detection's trust, patient and drug."""

    trust: str
    patient_ref: str
    drug_key: str


@dataclass(frozen=True)
class ApprovalFacts:
    reference: str
    provider_ods: str
    patient_ref: str
    drug_key: str
    status: str


def reference_problem(detected: Detected, approval: ApprovalFacts | None, reference: str) -> str | None:
    """Why `reference` does not cover the detection (the message for the field), or None when it does."""
    if approval is None or not approval.provider_ods.upper().startswith(detected.trust.upper()):
        return f"{reference} is not an approval of this trust"
    if approval.patient_ref != detected.patient_ref:
        return f"{reference} is an approval for another patient"
    if approval.drug_key != detected.drug_key:
        return f"{reference} is an approval for another drug"
    if approval.status not in COVERING_STATES:
        return f"{reference} is {approval.status.replace('_', ' ')}: it does not cover the use"
    return None


def answer_problems(approval_reference: str | None, explanation: str | None) -> list[tuple[str, str]]:
    """An answer gives the approval reference or an explanation, not both and not neither."""
    if approval_reference and explanation:
        return [("explanation", "give the approval reference or an explanation, not both")]
    if not approval_reference and not explanation:
        return [
            ("approval_reference", "give the approval reference that covers the use, or explain it"),
            ("explanation", "explain the use when no approval covers it"),
        ]
    return []
