"""Prior approval of a CDF application: the decision rule, the application's states, and lapsing.

The decision is mechanical by design (DOMAIN): approved at once when the entry is open on the planned
start date, every mandatory criterion is confirmed and consent is confirmed; otherwise rejected with
every reason, so the clinician can correct all of them in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from casework.state_machine import TransitionTable
from cdf_service.domain.national_list import (
    DEFAULT_LAPSE_WINDOW_DAYS,
    EntryStatus,
    ListEntry,
    is_open_on,
)


class UnknownCriteria(ValueError):
    """Answers name criteria the entry does not have: a malformed request (422), not a rejection."""

    def __init__(self, entry_id: str, codes: tuple[str, ...]) -> None:
        self.entry_id = entry_id
        self.codes = codes
        super().__init__(f"entry {entry_id} has no criteria {', '.join(codes)}")


@dataclass(frozen=True)
class ApplicationDecision:
    approved: bool
    unmet_criteria: tuple[str, ...]
    reasons: tuple[str, ...]
    entry_id: str
    entry_version: int


def decide_application(
    entry: ListEntry, answers: Mapping[str, bool], planned_start: date, consent_confirmed: bool
) -> ApplicationDecision:
    """Approve or reject an application against the entry version it was made under."""
    unknown = tuple(sorted(set(answers) - entry.criterion_codes))
    if unknown:
        raise UnknownCriteria(entry.entry_id, unknown)
    unmet = _unmet_criteria(entry, answers)
    reasons = [*_closed_reasons(entry, planned_start), *_criterion_reasons(entry, answers, unmet)]
    if not consent_confirmed:
        reasons.append("patient consent to data collection is not confirmed")
    return ApplicationDecision(
        approved=not reasons,
        unmet_criteria=unmet,
        reasons=tuple(reasons),
        entry_id=entry.entry_id,
        entry_version=entry.version,
    )


def _unmet_criteria(entry: ListEntry, answers: Mapping[str, bool]) -> tuple[str, ...]:
    # An unanswered mandatory criterion is unmet: approval needs a positive confirmation.
    return tuple(c.code for c in entry.criteria if c.mandatory and answers.get(c.code) is not True)


def _criterion_reasons(entry: ListEntry, answers: Mapping[str, bool], unmet: tuple[str, ...]) -> list[str]:
    texts = {c.code: c.text for c in entry.criteria}
    return [
        f"criterion {code} ({texts[code]}) is {'not answered' if code not in answers else 'not met'}" for code in unmet
    ]


def _closed_reasons(entry: ListEntry, planned_start: date) -> list[str]:
    if is_open_on(entry, planned_start):
        return []
    if entry.status is EntryStatus.CLOSED:
        return [f"list entry {entry.entry_id} is closed to new applications"]
    if planned_start < entry.managed_access_start:
        return [
            f"planned start {planned_start.isoformat()} is before managed access starts "
            f"({entry.managed_access_start.isoformat()})"
        ]
    end = entry.managed_access_end.isoformat() if entry.managed_access_end else "?"
    return [f"planned start {planned_start.isoformat()} is after managed access ends ({end})"]


# --- Application states --------------------------------------------------------------------------


class ApplicationState(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    TREATMENT_STARTED = "treatment_started"
    TREATMENT_STOPPED = "treatment_stopped"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class ApplicationAction(StrEnum):
    START_TREATMENT = "start_treatment"
    STOP_TREATMENT = "stop_treatment"
    LAPSE = "lapse"
    WITHDRAW = "withdraw"


# The whole life cycle in one table; a state with no move out of it is final. A trust may withdraw
# an approval before treatment or during it (the patient moves trust, the clinician stops early
# outside SACT); once treatment has stopped, the record is history.
TRANSITIONS = TransitionTable(
    "cdf_application",
    {
        (ApplicationState.APPROVED, ApplicationAction.START_TREATMENT): ApplicationState.TREATMENT_STARTED,
        (ApplicationState.APPROVED, ApplicationAction.LAPSE): ApplicationState.LAPSED,
        (ApplicationState.APPROVED, ApplicationAction.WITHDRAW): ApplicationState.WITHDRAWN,
        (ApplicationState.TREATMENT_STARTED, ApplicationAction.STOP_TREATMENT): ApplicationState.TREATMENT_STOPPED,
        (ApplicationState.TREATMENT_STARTED, ApplicationAction.WITHDRAW): ApplicationState.WITHDRAWN,
    },
)
TRANSITIONS.check_covers(ApplicationState)

# Approvals that still authorise treatment: a second application for the same patient and entry is a
# duplicate while one of these exists.
LIVE_STATES = frozenset({ApplicationState.APPROVED, ApplicationState.TREATMENT_STARTED})


def initial_state(decision: ApplicationDecision) -> ApplicationState:
    return ApplicationState.APPROVED if decision.approved else ApplicationState.REJECTED


def allowed_actions(state: ApplicationState | str) -> tuple[ApplicationAction, ...]:
    allowed = set(TRANSITIONS.allowed(state))
    return tuple(a for a in ApplicationAction if a in allowed)


def apply_action(state: ApplicationState | str, action: ApplicationAction | str) -> ApplicationState:
    """The state after `action`; raises casework's IllegalTransition (a 409 naming the allowed actions)."""
    return ApplicationState(TRANSITIONS.next_state(state, action))


# --- Lapsing -------------------------------------------------------------------------------------


class LapseTerms(Protocol):
    """What lapsing needs from an approval (a DB row or the dataclass below both fit)."""

    @property
    def planned_start(self) -> date: ...

    @property
    def lapse_window_days(self) -> int: ...


@dataclass(frozen=True)
class Approval:
    application_id: str
    entry_id: str
    entry_version: int
    trust_ods: str
    planned_start: date
    lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS


def lapse_due_date(planned_start: date, lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS) -> date:
    """Last day (inclusive) on which a first administration still keeps the approval alive.

    Calendar days, not working days: chemotherapy units treat at weekends and the DOMAIN rule
    counts days after the planned start.
    """
    if lapse_window_days < 0:
        raise ValueError("lapse_window_days must not be negative")
    return planned_start + timedelta(days=lapse_window_days)


def has_lapsed(approval: LapseTerms, today: date, first_administration_date: date | None) -> bool:
    """True once the window has passed with no administration inside it.

    An administration after the window does not revive the approval: that use was unauthorised.
    An administration before the planned start counts (treatment simply began early).
    """
    due = lapse_due_date(approval.planned_start, approval.lapse_window_days)
    if first_administration_date is not None and first_administration_date <= due:
        return False
    return today > due
