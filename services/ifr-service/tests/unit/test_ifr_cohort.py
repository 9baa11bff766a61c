"""The cohort rule (domain/cohort.py): what "the same treatment" is, the window, the crossing and lapse."""

from datetime import date

import pytest

from ifr_service.domain.cohort import (
    DEFAULT_RULE,
    CohortRule,
    CohortStep,
    cohort_step,
    in_window,
    months_before,
    open_until,
    treatment_key,
)

DMD = "37621811000001104"


def test_the_treatment_is_its_code_and_indication() -> None:
    assert treatment_key(DMD, None, "E75.2") == f"dmd:{DMD}|icd10:E752"
    # dm+d wins over OPCS-4, as it does for the case's treatment code
    assert treatment_key(f" {DMD} ", "X89.1", "e75.2") == f"dmd:{DMD}|icd10:E752"
    assert treatment_key(None, "x89.1", "C34.1") == "opcs4:X891|icd10:C341"
    # the X filler of a code with no fourth character: C56.X is C56
    assert treatment_key(DMD, None, "C56.X") == treatment_key(DMD, None, "C56") == f"dmd:{DMD}|icd10:C56"
    # different indications are different treatments (Fabry disease is not Tay-Sachs: E75.2, E75.0)
    assert treatment_key(DMD, None, "E75.2") != treatment_key(DMD, None, "E75.0")


def test_without_an_icd10_code_the_diagnosis_as_written() -> None:
    assert treatment_key(DMD, None, None, "  Fabry   Disease ") == f"dmd:{DMD}|diagnosis:fabry disease"
    assert treatment_key(DMD, None, "", "Fabry disease") == treatment_key(DMD, None, None, "FABRY DISEASE")


@pytest.mark.parametrize(
    ("dmd", "opcs", "icd10", "diagnosis"),
    [(None, None, "E75.2", "Fabry"), ("", " ", "E75.2", None), (DMD, None, None, None), (DMD, None, " ", "  ")],
)
def test_no_key_without_a_treatment_code_or_an_indication(
    dmd: str | None, opcs: str | None, icd10: str | None, diagnosis: str | None
) -> None:
    assert treatment_key(dmd, opcs, icd10, diagnosis) is None


def test_calendar_months() -> None:
    assert months_before(date(2026, 12, 2), 12) == date(2025, 12, 2)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)
    assert months_before(date(2026, 1, 15), -12) == date(2027, 1, 15)


def test_the_window_is_the_twelve_months_ending_on_the_day() -> None:
    on = date(2026, 12, 2)
    assert in_window(date(2026, 12, 2), on, DEFAULT_RULE)
    assert in_window(date(2025, 12, 3), on, DEFAULT_RULE)
    assert not in_window(date(2025, 12, 2), on, DEFAULT_RULE)  # twelve months ago to the day: out
    assert not in_window(date(2026, 12, 3), on, DEFAULT_RULE)  # later than the request counted


def test_more_than_five_in_twelve_months_is_a_crossing_once() -> None:
    on = date(2026, 12, 2)
    assert DEFAULT_RULE == CohortRule(min_requests=6, window_months=12)
    assert cohort_step(5, on, None, DEFAULT_RULE) is CohortStep.NONE
    assert cohort_step(6, on, None, DEFAULT_RULE) is CohortStep.DETECTED
    # the seventh while the alert is open joins it
    assert cohort_step(7, on, date(2027, 6, 1), DEFAULT_RULE) is CohortStep.JOINED
    # an alert that lapsed does not take new requests: a new crossing is a new alert
    assert cohort_step(6, on, on, DEFAULT_RULE) is CohortStep.DETECTED
    assert cohort_step(2, on, date(2026, 1, 1), DEFAULT_RULE) is CohortStep.NONE


def test_an_alert_is_open_until_the_sixth_most_recent_request_leaves_the_window() -> None:
    days = [date(2026, m, 1) for m in (1, 2, 3, 4, 5, 6)]
    assert open_until(days[:5], DEFAULT_RULE) is None
    assert open_until(days, DEFAULT_RULE) == date(2027, 1, 1)  # the oldest of six leaves then
    assert open_until([*days, date(2026, 11, 1)], DEFAULT_RULE) == date(2027, 2, 1)
    # a request received long before (a paper application recorded late) does not keep it open
    assert open_until([date(2020, 1, 1), *days], DEFAULT_RULE) == date(2027, 1, 1)
