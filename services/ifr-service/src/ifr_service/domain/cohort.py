"""The cohort trigger: when requests for one treatment in one region show a group of patients, not an
individual, the question belongs to the policy process (a service development), not to IFR panels.

The rule (settings `COHORT_MIN_REQUESTS`, `COHORT_WINDOW_MONTHS`; default more than 5 requests in 12
months, the threshold of NHS England's interim IFR guidance of 2013): count the requests received for the
same treatment and indication from one region's trusts in the window ending on the day a request is
received. The count reaching the threshold is a **crossing**: one alert. The alert stays open while the
count in the trailing window would stay at the threshold (until the threshold-th most recent of its
requests leaves the window); a request received while it is open joins it, never raising a second alert.
Once the count falls below the threshold the alert has lapsed, and a later crossing is a new alert.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# ICD-10 codes with no fourth character are sometimes written with an X filler (C56.X is C56).
ICD10_FILLER = "X"


@dataclass(frozen=True)
class CohortRule:
    min_requests: int  # requests that make a cohort ("more than 5": 6)
    window_months: int


DEFAULT_RULE = CohortRule(min_requests=6, window_months=12)


def treatment_key(
    dmd_code: str | None, opcs4_code: str | None, diagnosis_icd10: str | None, diagnosis: str | None = None
) -> str | None:
    """What makes two requests "for the same treatment": the treatment's code (dm+d for a drug, which
    wins when both are given, as it does for the case's treatment_code; else OPCS-4 for a procedure)
    and the indication (the ICD-10 code; without one, the diagnosis as written, case and spacing aside).

    `dmd:<code>|icd10:<code>`; None when either half is missing (a draft: it cannot be counted).
    ICD-10 and OPCS-4 codes lose their dot and case (C34.1 = c341), and an ICD-10 code's X filler
    (C56.X = C56); dm+d codes are compared as given (a VMP and its AMPs are different codes)."""
    if dmd_code and dmd_code.strip():
        treatment = f"dmd:{dmd_code.strip()}"
    elif opcs4_code and opcs4_code.strip():
        treatment = f"opcs4:{_compact(opcs4_code)}"
    else:
        return None
    if diagnosis_icd10 and diagnosis_icd10.strip():
        code = _compact(diagnosis_icd10)
        if len(code) == 4 and code.endswith(ICD10_FILLER):
            code = code[:3]
        indication = f"icd10:{code}"
    elif diagnosis and diagnosis.strip():
        indication = "diagnosis:" + " ".join(diagnosis.casefold().split())
    else:
        return None
    return f"{treatment}|{indication}"


def _compact(code: str) -> str:
    return code.strip().upper().replace(".", "")


def months_before(on: date, months: int) -> date:
    """The same day `months` calendar months earlier (31 March less one month: 28 or 29 February)."""
    total = on.year * 12 + on.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(on.day, calendar.monthrange(year, month)[1]))


def months_after(on: date, months: int) -> date:
    return months_before(on, -months)


def window_opens(on: date, rule: CohortRule) -> date:
    """The window ending on `on` holds requests received after this day (and on or before `on`)."""
    return months_before(on, rule.window_months)


def in_window(received: date, on: date, rule: CohortRule) -> bool:
    return window_opens(on, rule) < received <= on


def open_until(received: Sequence[date], rule: CohortRule) -> date | None:
    """The day an alert with requests received on these days lapses: when the threshold-th most recent
    of them leaves the window (from that day the trailing count is below the threshold). None when the
    requests do not make a cohort."""
    if len(received) < rule.min_requests:
        return None
    return months_after(sorted(received, reverse=True)[rule.min_requests - 1], rule.window_months)


class CohortStep(StrEnum):
    DETECTED = "detected"  # a crossing: a new alert
    JOINED = "joined"  # the request joins the alert that is open
    NONE = "none"


def cohort_step(in_window_count: int, on: date, alert_open_until: date | None, rule: CohortRule) -> CohortStep:
    """What a request received on `on` does, given how many requests for its treatment in its region
    (itself included) the window ending on `on` holds, and until when the latest alert for them is open."""
    if alert_open_until is not None and on < alert_open_until:
        return CohortStep.JOINED
    if in_window_count >= rule.min_requests:
        return CohortStep.DETECTED
    return CohortStep.NONE
