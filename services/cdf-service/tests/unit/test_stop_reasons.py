from __future__ import annotations

from casework.events.catalogue.cdf import StopReason
from cdf_service.domain.stop_reasons import NOT_STATED, describe, mask_of, reasons_of


def test_reasons_round_trip_through_a_mask_in_code_order() -> None:
    mask = mask_of([StopReason.TOXICITY, StopReason.COMPLETED])
    assert reasons_of(mask) == [StopReason.COMPLETED, StopReason.TOXICITY]
    assert mask | mask_of([StopReason.DEATH]) == mask_of([StopReason.COMPLETED, StopReason.TOXICITY, StopReason.DEATH])
    assert reasons_of(None) == [] and reasons_of(0) == []


def test_death_and_progression_are_told_apart_in_words() -> None:
    assert describe(mask_of([StopReason.DEATH])) == "death of patient"
    assert describe(mask_of([StopReason.PROGRESSION])) == "disease progression"
    assert describe(mask_of([StopReason.COMPLETED, StopReason.TOXICITY])) == "completed as planned; toxicity"
    assert describe(None) == NOT_STATED
