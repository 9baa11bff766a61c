"""The reasons a regimen ended, as one small integer per SACT row (a bit per reason: COPY-friendly,
and rows reporting several reasons merge by OR), and as the words and codes events carry."""

from __future__ import annotations

from collections.abc import Iterable

from casework.events.catalogue.cdf import StopReason

ORDER = tuple(StopReason)
BIT = {reason: 1 << i for i, reason in enumerate(ORDER)}
TEXT = {
    StopReason.COMPLETED: "completed as planned",
    StopReason.PROGRESSION: "disease progression",
    StopReason.TOXICITY: "toxicity",
    StopReason.PATIENT_CHOICE: "patient choice",
    StopReason.ORGANISATION: "organisation (trust) issues",
    StopReason.MRD_NEGATIVE: "minimal residual disease negativity",
    StopReason.DEATH: "death of patient",
    StopReason.OTHER: "other",
}
NOT_STATED = "not stated"


def mask_of(reasons: Iterable[StopReason]) -> int:
    mask = 0
    for reason in reasons:
        mask |= BIT[reason]
    return mask


def reasons_of(mask: int | None) -> list[StopReason]:
    """The reasons in a mask, in national code order."""
    return [reason for reason in ORDER if mask and mask & BIT[reason]]


def describe(mask: int | None) -> str:
    """The reasons in words, "; "-separated ("not stated" for none)."""
    return "; ".join(TEXT[reason] for reason in reasons_of(mask)) or NOT_STATED
