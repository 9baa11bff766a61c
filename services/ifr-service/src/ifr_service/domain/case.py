"""The IFR case as one explicit transition table: every state, every action, nothing implicit.

Actions are the words of the API path (`POST /ifr/requests/{id}/{action}`). An action the table
does not allow in the current state raises `IllegalTransition` (a 409 naming the state and the
allowed actions). Rules that depend on more than the state (a review's outcome, the review window)
are the guards below the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from casework.state_machine import TransitionTable


class CaseState(StrEnum):
    DRAFT = "draft"
    RECEIVED = "received"  # submitted: a complete application is with the team
    ACKNOWLEDGED = "acknowledged"  # receipt acknowledged; completeness check / triage
    SCREENING = "screening"
    RETURNED_FOR_INFORMATION = "returned_for_information"  # clocks paused
    RESUBMITTED = "resubmitted"  # the information came back; clocks running again
    REDIRECTED = "redirected"  # not an IFR (cohort) or not NHS England's responsibility
    # one of a cohort (an open cohort alert for its treatment in its region): a service development
    # request for the region's policy process, not an IFR
    SERVICE_DEVELOPMENT = "service_development"
    SCREENED_OUT = "screened_out"
    LISTED_FOR_PANEL = "listed_for_panel"
    DECIDED = "decided"
    RECONSIDERATION = "reconsideration"  # new clinical information: an IFR panel looks again
    REVIEW = "review"  # procedural challenge: waits for a different (review) panel
    LISTED_FOR_REVIEW = "listed_for_review"
    REVIEW_DECIDED = "review_decided"  # upheld (close) or flawed (back to an IFR panel)
    # urgent only: the chair decided between meetings; the decision is in effect and waits for the next
    # quorate panel to ratify or overturn it
    AWAITING_RATIFICATION = "awaiting_ratification"
    LISTED_FOR_RATIFICATION = "listed_for_ratification"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    SUBMIT = "submit"
    ACKNOWLEDGE = "acknowledge"
    SCREEN = "screen"
    REQUEST_INFORMATION = "request-information"
    PROVIDE_INFORMATION = "provide-information"
    REDIRECT = "redirect"
    REDIRECT_SERVICE_DEVELOPMENT = "redirect-service-development"  # only while a cohort alert matches it
    SCREEN_OUT = "screen-out"
    LIST_FOR_PANEL = "list-for-panel"
    DECIDE = "decide"
    REQUEST_RECONSIDERATION = "request-reconsideration"
    REQUEST_REVIEW = "request-review"
    DECIDE_REVIEW = "decide-review"
    CHAIRS_ACTION = "chairs-action"  # an urgent decision by the chair (or deputy) without a quorum
    RATIFY = "ratify"  # the panel confirms a chair's action
    OVERTURN = "overturn"  # the panel replaces a chair's action with its own decision
    WITHDRAW = "withdraw"
    CLOSE = "close"


S, A = CaseState, Action

# Withdrawal is possible at any point before a decision.
_BEFORE_DECISION = (
    S.DRAFT,
    S.RECEIVED,
    S.ACKNOWLEDGED,
    S.SCREENING,
    S.RETURNED_FOR_INFORMATION,
    S.RESUBMITTED,
    S.LISTED_FOR_PANEL,
)
# Where a screening outcome can be reached (the officer may also go straight from a resubmission).
_SCREENING_OUTCOMES = {
    A.REQUEST_INFORMATION: S.RETURNED_FOR_INFORMATION,
    A.REDIRECT: S.REDIRECTED,
    A.SCREEN_OUT: S.SCREENED_OUT,
    A.LIST_FOR_PANEL: S.LISTED_FOR_PANEL,
    A.REDIRECT_SERVICE_DEVELOPMENT: S.SERVICE_DEVELOPMENT,
}
# Where an IFR panel would decide next, an urgent case can instead be decided by chair's action.
_AWAITING_A_DECISION = (S.SCREENING, S.RESUBMITTED, S.LISTED_FOR_PANEL, S.RECONSIDERATION)
RATIFICATION_STATES = frozenset({S.AWAITING_RATIFICATION, S.LISTED_FOR_RATIFICATION})

CASE = TransitionTable(
    "ifr_request",
    {
        (S.DRAFT, A.SUBMIT): S.RECEIVED,
        (S.RECEIVED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
        # completeness check / triage
        (S.ACKNOWLEDGED, A.SCREEN): S.SCREENING,
        (S.ACKNOWLEDGED, A.REQUEST_INFORMATION): S.RETURNED_FOR_INFORMATION,
        (S.ACKNOWLEDGED, A.REDIRECT): S.REDIRECTED,
        (S.ACKNOWLEDGED, A.REDIRECT_SERVICE_DEVELOPMENT): S.SERVICE_DEVELOPMENT,
        # screening
        **{(S.SCREENING, a): t for a, t in _SCREENING_OUTCOMES.items()},
        (S.RETURNED_FOR_INFORMATION, A.PROVIDE_INFORMATION): S.RESUBMITTED,
        (S.RESUBMITTED, A.SCREEN): S.SCREENING,
        **{(S.RESUBMITTED, a): t for a, t in _SCREENING_OUTCOMES.items()},
        # a screening outcome can only be challenged with new information
        (S.SCREENED_OUT, A.PROVIDE_INFORMATION): S.RESUBMITTED,
        (S.SCREENED_OUT, A.CLOSE): S.CLOSED,
        (S.REDIRECTED, A.CLOSE): S.CLOSED,
        # a service development request: closed, or back to screening when the clinician shows with new
        # information that the patient's circumstances differ from the cohort's
        (S.SERVICE_DEVELOPMENT, A.CLOSE): S.CLOSED,
        (S.SERVICE_DEVELOPMENT, A.PROVIDE_INFORMATION): S.RESUBMITTED,
        # panel
        (S.LISTED_FOR_PANEL, A.DECIDE): S.DECIDED,
        (S.DECIDED, A.REQUEST_RECONSIDERATION): S.RECONSIDERATION,
        (S.DECIDED, A.REQUEST_REVIEW): S.REVIEW,
        (S.DECIDED, A.CLOSE): S.CLOSED,
        (S.RECONSIDERATION, A.LIST_FOR_PANEL): S.LISTED_FOR_PANEL,
        # review by a different panel
        (S.REVIEW, A.LIST_FOR_PANEL): S.LISTED_FOR_REVIEW,
        (S.LISTED_FOR_REVIEW, A.DECIDE_REVIEW): S.REVIEW_DECIDED,
        (S.REVIEW_DECIDED, A.LIST_FOR_PANEL): S.LISTED_FOR_PANEL,  # only when the process was flawed
        (S.REVIEW_DECIDED, A.CLOSE): S.CLOSED,  # only when the decision was upheld
        **{(s, A.WITHDRAW): S.WITHDRAWN for s in _BEFORE_DECISION},
        # urgent: chair's action now, ratified (or overturned) at the next quorate panel meeting
        **{(s, A.CHAIRS_ACTION): S.AWAITING_RATIFICATION for s in _AWAITING_A_DECISION},
        (S.AWAITING_RATIFICATION, A.LIST_FOR_PANEL): S.LISTED_FOR_RATIFICATION,
        (S.LISTED_FOR_RATIFICATION, A.LIST_FOR_PANEL): S.LISTED_FOR_RATIFICATION,  # that meeting was not quorate
        (S.LISTED_FOR_RATIFICATION, A.RATIFY): S.DECIDED,
        (S.LISTED_FOR_RATIFICATION, A.OVERTURN): S.DECIDED,
    },
)
CASE.check_covers(CaseState)

FINAL_STATES = frozenset({S.CLOSED, S.WITHDRAWN})


class Stage(StrEnum):
    """Coarse stages for worklists: where the case is in the process."""

    INTAKE = "intake"
    SCREENING = "screening"
    PANEL = "panel"
    DECIDED = "decided"
    REVIEW = "review"
    CLOSED = "closed"


STAGE_OF: dict[CaseState, Stage] = {
    S.DRAFT: Stage.INTAKE,
    S.RECEIVED: Stage.INTAKE,
    S.ACKNOWLEDGED: Stage.INTAKE,
    S.SCREENING: Stage.SCREENING,
    S.RETURNED_FOR_INFORMATION: Stage.SCREENING,
    S.RESUBMITTED: Stage.SCREENING,
    S.LISTED_FOR_PANEL: Stage.PANEL,
    S.RECONSIDERATION: Stage.PANEL,
    S.AWAITING_RATIFICATION: Stage.PANEL,
    S.LISTED_FOR_RATIFICATION: Stage.PANEL,
    S.DECIDED: Stage.DECIDED,
    S.REVIEW: Stage.REVIEW,
    S.LISTED_FOR_REVIEW: Stage.REVIEW,
    S.REVIEW_DECIDED: Stage.REVIEW,
    S.REDIRECTED: Stage.CLOSED,
    S.SERVICE_DEVELOPMENT: Stage.CLOSED,
    S.SCREENED_OUT: Stage.CLOSED,
    S.CLOSED: Stage.CLOSED,
    S.WITHDRAWN: Stage.CLOSED,
}


class Outcome(StrEnum):
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    DECLINED = "declined"

    @property
    def funds(self) -> bool:
        return self is not Outcome.DECLINED


class ReviewOutcome(StrEnum):
    UPHELD = "upheld"  # the process was sound: the decision stands
    FLAWED = "flawed"  # back to an IFR panel


class GuardFailed(ValueError):
    """A move the table allows but the case's facts do not (a 409 naming the reason and the allowed actions)."""


def check_review_follow_up(action: str, review_outcome: str | None) -> None:
    """After a review: a flawed process goes back to an IFR panel; an upheld decision is closed."""
    if action == A.LIST_FOR_PANEL and review_outcome != ReviewOutcome.FLAWED:
        raise GuardFailed("the review upheld the decision: the case can only be closed")
    if action == A.CLOSE and review_outcome == ReviewOutcome.FLAWED:
        raise GuardFailed("the review found the process flawed: the case must go back to an IFR panel")


def refusal(
    state: str, action: str, urgent: bool, review_outcome: str | None = None, in_cohort: bool = False
) -> str | None:
    """Why the case's own facts rule out an action the table allows from its state (None: they do not).

    Chair's action is for urgent requests only; after a review its outcome decides the one way on; only
    one of a cohort (`in_cohort`: an open cohort alert matches its treatment in its region) is redirected
    as a service development request."""
    if action == A.REDIRECT_SERVICE_DEVELOPMENT and not in_cohort:
        return (
            "no open cohort alert matches this request's treatment in its region: "
            "screen it as an individual request, or redirect it"
        )
    try:
        if action == A.CHAIRS_ACTION:
            check_chairs_action(urgent)
        if state == S.REVIEW_DECIDED:
            check_review_follow_up(action, review_outcome)
    except GuardFailed as exc:
        return str(exc)
    return None


def allowed_actions(state: str, urgent: bool, review_outcome: str | None = None, in_cohort: bool = False) -> list[str]:
    """What may be done next with this case: the table's actions from its state, less those its facts
    rule out (`refusal`): chair's action for a routine case, after a review the follow-up its outcome
    does not allow, redirecting as a service development a request no cohort alert matches. Every other
    action is answered with a 409 naming these."""
    return [a for a in CASE.allowed(state) if refusal(state, a, urgent, review_outcome, in_cohort) is None]


def check_chairs_action(urgent: bool) -> None:
    """Chair's action is for urgent requests only: a routine request waits for a quorate panel."""
    if not urgent:
        raise GuardFailed(
            "chair's action is only for urgent requests: this request is routine, so a quorate panel must decide it"
        )


def check_ratification_meeting(meeting_date: date, chairs_action_on: date) -> None:
    """A chair's action is ratified at a panel meeting held on or after the day of the action."""
    if meeting_date < chairs_action_on:
        raise GuardFailed(
            f"the panel met on {meeting_date}, before the chair's action on {chairs_action_on}: "
            "list it for a later meeting"
        )


@dataclass(frozen=True)
class DecisionTerms:
    """What a decision says, for comparing the panel's decision with the chair's action."""

    outcome: str
    conditions: tuple[str, ...] = ()
    approved_cost: Decimal | None = None


def check_overturn(chairs_action: DecisionTerms, panel: DecisionTerms) -> None:
    """Overturning must change the decision (its outcome, conditions or approved cost); the same
    decision is a ratification."""
    if chairs_action == panel:
        raise GuardFailed("the panel's decision is the same as the chair's action: ratify it instead")


def panel_kind_for(state: str) -> str:
    """Which kind of panel hears the case listed from `state`: a review is heard by a review panel."""
    return "review" if state == S.REVIEW else "ifr"
