"""What each case action records: its body, its own rules, and the events it emits.

The route layer (`api/actions.py`) has already checked role, visibility, If-Match and that the
transition table allows the action; a handler checks the action's own facts (422), then calls
`workflow.transition` and emits its event. The actions live by stage: intake_actions (submit to
information), screening_actions (redirect, service development, screen out), panel_actions (listing and
conflicts), decisions (the panel's decisions and chair's action), and here reconsideration, review,
withdrawal and closing; this module holds the catalogue the routes are built from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from casework.auth import Principal, Role
from casework.problems import field_problem
from ifr_service.access import APPLICANT_ROLES, CHAIRS_ACTION_ROLES, OFFICER_ROLES
from ifr_service.db import panels
from ifr_service.db.models import IfrRequest
from ifr_service.domain.case import Action
from ifr_service.domain.clocks import Clock, is_open
from ifr_service.domain.panel import recorder_refusal
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.use_cases.action_base import ActionContext, Body, NoBody, Reason, simple_transition
from ifr_service.use_cases.decisions import (
    ChairsActionIn,
    DecideIn,
    RatifyIn,
    ReviewDecisionIn,
    chairs_action,
    decide,
    decide_review,
    overturn,
    ratify,
)
from ifr_service.use_cases.intake_actions import (
    InformationIn,
    InformationRequestIn,
    SubmitIn,
    acknowledge,
    provide_information,
    request_information,
    screen,
    submit,
)
from ifr_service.use_cases.panel_actions import ListIn, list_on_panel
from ifr_service.use_cases.screening_actions import (
    RedirectIn,
    ScreenOutIn,
    ServiceDevelopmentIn,
    redirect,
    redirect_service_development,
    screen_out,
)
from ifr_service.use_cases.workflow import case_clocks, emit_case_event, ensure_allowed

A = Action

# -- bodies -------------------------------------------------------------------------------------------


class ReconsiderIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"new_information": "A genetic test result of 20 May 2026 that the panel did not have."}]
        }
    )
    new_information: Reason


class ReviewIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"grounds": "The panel did not consider the renal contraindication set out in section 4."}]
        }
    )
    grounds: Reason


class WithdrawIn(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "The patient has moved to a clinical trial of the same drug."}]}
    )
    reason: Reason


class CloseIn(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{}, {"reason": "The treatment course ended in March 2027."}]}
    )
    reason: Reason | None = None


# -- handlers -----------------------------------------------------------------------------------------


async def request_reconsideration(ctx: ActionContext, case: IfrRequest, body: ReconsiderIn) -> None:
    await simple_transition(ctx, case, Action.REQUEST_RECONSIDERATION, detail={"new_information": body.new_information})
    case.current_panel_id = None
    emit_case_event(ctx.uow, case, "ifr.request.reconsideration_requested", new_information=body.new_information)


async def request_review(ctx: ActionContext, case: IfrRequest, body: ReviewIn) -> None:
    windows = [c for c in await case_clocks(ctx.uow, case.id) if c.clock == Clock.REVIEW_WINDOW and is_open(c)]
    if not windows or windows[-1].due_date < ctx.today:
        closed = f" on {windows[-1].due_date}" if windows else ""
        raise field_problem("grounds", f"the window to request a review closed{closed}")
    await simple_transition(ctx, case, Action.REQUEST_REVIEW, detail={"grounds": body.grounds})
    case.current_panel_id = None
    emit_case_event(ctx.uow, case, "ifr.request.review_requested", grounds=body.grounds)


async def withdraw(ctx: ActionContext, case: IfrRequest, body: WithdrawIn) -> None:
    await simple_transition(ctx, case, Action.WITHDRAW, detail={"reason": body.reason})
    emit_case_event(ctx.uow, case, "ifr.request.withdrawn", reason=body.reason)


async def close(ctx: ActionContext, case: IfrRequest, body: CloseIn) -> None:
    ensure_allowed(case, Action.CLOSE)  # after a review, only an upheld decision is closed
    await simple_transition(ctx, case, Action.CLOSE, detail={"reason": body.reason} if body.reason else None)


# -- the catalogue the routes are built from -----------------------------------------------------------

Handler = Callable[[ActionContext, IfrRequest, Any], Awaitable[None]]


@dataclass(frozen=True)
class ActionSpec:
    action: Action
    body: type[BaseModel]
    handler: Handler
    summary: str

    @property
    def body_required(self) -> bool:
        return any(f.is_required() for f in self.body.model_fields.values())


ACTIONS: dict[Action, ActionSpec] = {
    s.action: s
    for s in (
        ActionSpec(A.SUBMIT, SubmitIn, submit, "submit a complete application (every missing field is named)"),
        ActionSpec(A.ACKNOWLEDGE, NoBody, acknowledge, "acknowledge receipt to the clinician"),
        ActionSpec(A.SCREEN, NoBody, screen, "the completeness check passed: start screening"),
        ActionSpec(A.REQUEST_INFORMATION, InformationRequestIn, request_information, "return for information"),
        ActionSpec(A.PROVIDE_INFORMATION, InformationIn, provide_information, "send the information asked for"),
        ActionSpec(A.REDIRECT, RedirectIn, redirect, "not an IFR: redirect it"),
        ActionSpec(
            A.REDIRECT_SERVICE_DEVELOPMENT,
            ServiceDevelopmentIn,
            redirect_service_development,
            "one of a cohort (an open cohort alert matches it): a service development request for the policy team",
        ),
        ActionSpec(A.SCREEN_OUT, ScreenOutIn, screen_out, "screening found it cannot go to panel"),
        ActionSpec(A.LIST_FOR_PANEL, ListIn, list_on_panel, "put the case on a panel's agenda"),
        ActionSpec(A.DECIDE, DecideIn, decide, "record the panel's decision (quorum checked)"),
        ActionSpec(A.REQUEST_RECONSIDERATION, ReconsiderIn, request_reconsideration, "new clinical information"),
        ActionSpec(A.REQUEST_REVIEW, ReviewIn, request_review, "challenge the process (within the review window)"),
        ActionSpec(A.DECIDE_REVIEW, ReviewDecisionIn, decide_review, "record the review panel's finding"),
        ActionSpec(A.CHAIRS_ACTION, ChairsActionIn, chairs_action, "urgent only: the chair decides without a quorum"),
        ActionSpec(A.RATIFY, RatifyIn, ratify, "the quorate panel confirms the chair's action"),
        ActionSpec(A.OVERTURN, DecideIn, overturn, "the quorate panel replaces the chair's action with its decision"),
        ActionSpec(A.WITHDRAW, WithdrawIn, withdraw, "withdraw the request (before a decision)"),
        ActionSpec(A.CLOSE, CloseIn, close, "close the case"),
    )
}
PROVIDER_ACTIONS = frozenset({A.SUBMIT, A.PROVIDE_INFORMATION, A.WITHDRAW, A.REQUEST_RECONSIDERATION, A.REQUEST_REVIEW})
CHAIR_ACTIONS = frozenset({A.CHAIRS_ACTION})  # the chair records it, or a case officer for them
# A quorate panel's decisions: recorded by a case officer, or by that panel's chair or deputy chair.
PANEL_RECORD_ACTIONS = frozenset({A.DECIDE, A.DECIDE_REVIEW, A.RATIFY, A.OVERTURN})


def roles_for(action: str) -> tuple[str, ...]:
    """Who may take an action (admins too): the route's role check and the case's `your_actions`."""
    if action in CHAIR_ACTIONS or action in PANEL_RECORD_ACTIONS:
        return CHAIRS_ACTION_ROLES
    return APPLICANT_ROLES if action in PROVIDER_ACTIONS else OFFICER_ROLES


async def actions_for(uow: IfrUnitOfWork, principal: Principal, case: IfrRequest, *, allowed: list[str]) -> list[str]:
    """Of the actions the case allows now, those this caller may take: by role, and for a panel member
    the panel's decisions only as the chair or deputy chair of the panel the case is listed on."""
    mine = [a for a in allowed if principal.has_any([*roles_for(a), Role.ADMIN])]
    if principal.has_any([Role.IFR_OFFICER, Role.ADMIN]) or not PANEL_RECORD_ACTIONS & set(mine):
        return mine
    chairs = False
    if case.current_panel_id is not None:
        members = await panels.members_of(uow.session, case.current_panel_id)
        conflicted = await panels.conflicted(uow.session, case.current_panel_id, case.id)
        chairs = recorder_refusal(members, principal.sub, conflicted) is None
    return [a for a in mine if chairs or a not in PANEL_RECORD_ACTIONS]
