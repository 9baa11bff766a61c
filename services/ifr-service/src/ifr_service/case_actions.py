"""What each case action records: its body, its own rules, and the events it emits.

The route layer (`api/actions.py`) has already checked role, visibility, If-Match and that the
transition table allows the action; a handler checks the action's own facts (422), then calls
`workflow.transition` and emits its event.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.auth import Principal, Role
from casework.identifiers import patient_ref
from casework.problems import Unprocessable, field_problem
from ifr_service.access import APPLICANT_ROLES, CHAIRS_ACTION_ROLES, OFFICER_ROLES, PROVIDER_ROLES
from ifr_service.action_base import ActionContext, Body, NoBody, Reason, simple_transition
from ifr_service.cohorts import count_received, open_alert_for
from ifr_service.db import panels
from ifr_service.db.models import AgendaItem, Conflict, IfrRequest, Panel
from ifr_service.decisions import (
    ChairsActionIn,
    DecideIn,
    RatifyIn,
    ReviewDecisionIn,
    chairs_action,
    chairs_action_awaiting,
    decide,
    decide_review,
    overturn,
    ratify,
)
from ifr_service.domain.application import Application, merge, missing_for_submission
from ifr_service.domain.case import (
    RATIFICATION_STATES,
    Action,
    CaseState,
    GuardFailed,
    check_ratification_meeting,
    panel_kind_for,
)
from ifr_service.domain.clocks import Clock, is_open, plan_for
from ifr_service.domain.panel import not_independent, recorder_refusal, unknown_members
from ifr_service.domain.regions import region_name, region_of
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.workflow import apply_treatment, case_clocks, emit_case_event, ensure_allowed, now, transition

__all__ = ["ACTIONS", "PROVIDER_ACTIONS", "ActionContext", "ActionSpec", "ConflictIn", "ListIn", "list_on_panel"]


A = Action

# -- bodies -------------------------------------------------------------------------------------------


class SubmitIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"received_on": "2026-05-11"}]})
    received_on: date | None = Field(
        None, description="Case officers only: the day a paper or mail application arrived (clocks start then)"
    )


class InformationRequestIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "information_needed": "Please send the BVAS scores of the last two clinics and the renal function "
                    "results of the last three months.",
                    "respond_by": "2026-06-12",
                }
            ]
        }
    )
    information_needed: Reason
    respond_by: date | None = None


class InformationIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "information": "BVAS 19 at the clinic of 2 June 2026; eGFR 38. The clinic letter is attached.",
                    "application": {
                        "clinical": {"current_condition": "Active disease: BVAS 19 on 2 June 2026 despite rituximab."}
                    },
                }
            ]
        }
    )
    information: Reason = Field(description="What the clinician sends back (or the new clinical information)")
    application: dict[str, Any] | None = Field(None, description="Form sections/fields to change")


class RedirectReason(StrEnum):
    COHORT = "cohort"
    NOT_NHS_ENGLAND = "not_nhs_england_responsibility"


REDIRECT_TEXT = {
    RedirectReason.COHORT: "other patients are likely to be in the same situation: a cohort / service development "
    "question for the policy process",
    RedirectReason.NOT_NHS_ENGLAND: "the treatment is not NHS England's responsibility to commission",
}


class RedirectIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "not_nhs_england_responsibility",
                    "detail": "The treatment is commissioned by the integrated care board, not by NHS England.",
                    "redirected_to": "NHS North East and North Cumbria ICB",
                }
            ]
        }
    )
    reason: RedirectReason
    detail: Reason | None = None
    redirected_to: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None


class ServiceDevelopmentIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"detail": "Other patients are in the same situation: a cohort question for the policy process."}
            ]
        }
    )
    alert_id: uuid.UUID | None = Field(
        None, description="The open cohort alert the request matches (default: that alert; any other is 422)"
    )
    detail: Reason | None = Field(None, description="The case officer's words to the clinician, in the letter")


class ScreenOutReason(StrEnum):
    INCOMPLETE = "incomplete"
    COHORT = "cohort"
    NOT_NHS_ENGLAND = "not_nhs_england_responsibility"
    NO_PROSPECT = "no_prospect_of_exceptionality"


SCREEN_OUT_TEXT = {
    ScreenOutReason.INCOMPLETE: "the application is incomplete",
    ScreenOutReason.COHORT: "other patients are likely to be in the same situation (cohort)",
    ScreenOutReason.NOT_NHS_ENGLAND: "the treatment is not NHS England's responsibility",
    ScreenOutReason.NO_PROSPECT: "there is no prospect of showing clinical exceptionality",
}


class ScreenOutIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reasons": ["no_prospect_of_exceptionality"],
                    "detail": "The application describes the usual course of the condition, not an exceptional one.",
                }
            ]
        }
    )
    reasons: list[ScreenOutReason] = Field(min_length=1)
    detail: Reason | None = None


class ConflictIn(Body):
    member_id: str = Field(min_length=1, max_length=200)
    reason: Reason


class ListIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "panel_id": "3f6c2a1e-8b4d-4c7a-9e2f-5a1b7c9d0e42",
                    "conflicts": [{"member_id": "j.patel", "reason": "Works in the applying clinician's department."}],
                }
            ]
        }
    )
    panel_id: uuid.UUID | None = Field(None, description="Required except for a reconsideration (same panel)")
    conflicts: list[ConflictIn] = Field(default_factory=list, description="Conflicts members declared on this case")


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


async def submit(ctx: ActionContext, case: IfrRequest, body: SubmitIn) -> None:
    application = Application.model_validate(case.application)
    problems = missing_for_submission(application, tuple(ctx.settings.secure_email_domains))
    if problems:
        detail = "the application is incomplete: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise Unprocessable(detail, errors=problems)
    received_on = body.received_on or ctx.today
    if body.received_on is not None and ctx.principal.has_any(PROVIDER_ROLES):
        raise field_problem("received_on", "only a case officer may record when a paper application arrived")
    if received_on > ctx.today:
        raise field_problem("received_on", "is in the future")
    nhs_number = str(application.patient.nhs_number)
    case.nhs_number = nhs_number
    case.patient_ref = patient_ref(nhs_number, ctx.settings.patient_ref_key.get_secret_value())
    case.received_on = received_on
    case.submitted_at = now()
    case.region = region_of(case.provider_ods, ctx.settings.trust_regions)  # the mapping as it is on submission
    await transition(ctx.uow, case, Action.SUBMIT, ctx.principal, ctx.settings, plan_for(Action.SUBMIT), on=received_on)
    emit_case_event(
        ctx.uow,
        case,
        "ifr.request.submitted",
        patient_ref=case.patient_ref,
        treatment_name=case.treatment_name,
        treatment_code=case.treatment_code,
        submitted_at=case.submitted_at,
    )
    await count_received(ctx.uow, case, ctx.settings)


async def acknowledge(ctx: ActionContext, case: IfrRequest, body: NoBody) -> None:
    clocks = await simple_transition(ctx, case, Action.ACKNOWLEDGE)
    screening = [c.due_date for c in clocks if c.clock == Clock.SCREENING_OUTCOME and is_open(c)]
    emit_case_event(ctx.uow, case, "ifr.request.acknowledged", screening_due=min(screening, default=None))


async def screen(ctx: ActionContext, case: IfrRequest, body: NoBody) -> None:
    await simple_transition(ctx, case, Action.SCREEN)


async def request_information(ctx: ActionContext, case: IfrRequest, body: InformationRequestIn) -> None:
    if body.respond_by is not None and body.respond_by < ctx.today:
        raise field_problem("respond_by", "is in the past")
    await simple_transition(ctx, case, Action.REQUEST_INFORMATION, {"information_needed": body.information_needed})
    emit_case_event(
        ctx.uow,
        case,
        "ifr.request.information_requested",
        information_needed=body.information_needed,
        respond_by=body.respond_by,
    )


async def provide_information(ctx: ActionContext, case: IfrRequest, body: InformationIn) -> None:
    counted_as = case.treatment_key
    if body.application:
        try:
            application = merge(Application.model_validate(case.application), body.application)
        except ValidationError as exc:
            errors = [
                {"field": "application." + ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
            ]
            raise Unprocessable("the application changes are not valid", errors=errors) from None
        problems = missing_for_submission(application, tuple(ctx.settings.secure_email_domains))
        if problems:
            raise Unprocessable("the application would be incomplete", errors=problems)
        if application.clinician.trust_ods != case.provider_ods:
            raise field_problem("application.clinician.trust_ods", "cannot change once submitted")
        case.application = application.model_dump(mode="json")
        apply_treatment(case, application)
    await simple_transition(ctx, case, Action.PROVIDE_INFORMATION, {"information": body.information})
    emit_case_event(ctx.uow, case, "ifr.request.resubmitted")
    if case.treatment_key != counted_as:  # now a request for another treatment: counted in its cohort
        await count_received(ctx.uow, case, ctx.settings)


async def redirect(ctx: ActionContext, case: IfrRequest, body: RedirectIn) -> None:
    text = REDIRECT_TEXT[body.reason] + (f": {body.detail}" if body.detail else "")
    detail = {"reason": body.reason.value, "explanation": body.detail, "redirected_to": body.redirected_to}
    await simple_transition(ctx, case, Action.REDIRECT, detail)
    emit_case_event(ctx.uow, case, "ifr.request.redirected", redirect_reason=text, redirected_to=body.redirected_to)


async def redirect_service_development(ctx: ActionContext, case: IfrRequest, body: ServiceDevelopmentIn) -> None:
    """One of a cohort: to the region's policy process as a service development request."""
    alert = await open_alert_for(ctx.uow, case, ctx.today)
    if alert is None:  # the route checked it: an alert that lapsed since is the same 409
        ensure_allowed(case, A.REDIRECT_SERVICE_DEVELOPMENT, in_cohort=False)
        raise AssertionError("unreachable: a redirect-service-development with no open cohort alert")
    if body.alert_id is not None and body.alert_id != alert.id:
        raise field_problem("alert_id", "is not the open cohort alert for this request's treatment in its region")
    detail = {"alert_id": str(alert.id), "alert_reference": alert.reference, "explanation": body.detail}
    await simple_transition(ctx, case, A.REDIRECT_SERVICE_DEVELOPMENT, detail)
    emit_case_event(
        ctx.uow,
        case,
        "ifr.request.service_development",
        alert_id=alert.id,
        alert_reference=alert.reference,
        region=alert.region,
        region_name=region_name(alert.region),
        cohort_requests=alert.request_count,
        window_months=alert.window_months,
        explanation=body.detail,
    )


async def screen_out(ctx: ActionContext, case: IfrRequest, body: ScreenOutIn) -> None:
    codes = list(dict.fromkeys(body.reasons))
    await simple_transition(
        ctx, case, Action.SCREEN_OUT, {"reasons": [c.value for c in codes], "explanation": body.detail}
    )
    texts = [SCREEN_OUT_TEXT[c] for c in codes] + ([body.detail] if body.detail else [])
    emit_case_event(ctx.uow, case, "ifr.request.screened_out", reasons=texts)


async def _panel_for_listing(ctx: ActionContext, case: IfrRequest, body: ListIn) -> Panel:
    panel_id = body.panel_id
    if panel_id is None and case.state == CaseState.RECONSIDERATION:
        deciding = await panels.deciding_panels(ctx.uow.session, case.id)
        panel_id = deciding[-1] if deciding else None
    if panel_id is None:
        raise field_problem("panel_id", "is required")
    panel = await panels.get_panel(ctx.uow.session, panel_id)
    if panel is None:
        raise field_problem("panel_id", "no such panel")
    wanted = panel_kind_for(case.state)
    if panel.kind != wanted:
        raise field_problem("panel_id", f"this case must be heard by a panel of kind {wanted}, not {panel.kind}")
    members = await panels.members_of(ctx.uow.session, panel.id)
    if wanted == "review":
        earlier = [
            await panels.members_of(ctx.uow.session, p) for p in await panels.deciding_panels(ctx.uow.session, case.id)
        ]
        overlap = not_independent(members, earlier)
        if overlap:
            raise field_problem(
                "panel_id",
                f"a review must be heard by a different panel: {', '.join(overlap)} sat on the deciding panel",
            )
    strangers = unknown_members(members, [c.member_id for c in body.conflicts])
    if strangers:
        raise field_problem("conflicts", f"not members of this panel: {', '.join(strangers)}")
    return panel


async def list_on_panel(ctx: ActionContext, case: IfrRequest, body: ListIn) -> None:
    ensure_allowed(case, Action.LIST_FOR_PANEL)  # the routes checked; the agenda and any caller alike
    panel = await _panel_for_listing(ctx, case, body)
    purpose = {CaseState.REVIEW: "review", CaseState.RECONSIDERATION: "reconsideration"}.get(
        CaseState(case.state), "decision"
    )
    if case.state in RATIFICATION_STATES:
        purpose = "ratification"
        await _check_ratification_meeting(ctx, case, panel)
    from_state = case.state
    plan = plan_for(Action.LIST_FOR_PANEL, from_state) if purpose != "review" else plan_for("none")
    detail = {"panel_id": str(panel.id), "meeting_date": panel.meeting_date.isoformat(), "purpose": purpose}
    await transition(
        ctx.uow,
        case,
        Action.LIST_FOR_PANEL,
        ctx.principal,
        ctx.settings,
        plan,
        starts={Clock.DECISION_LETTER: panel.meeting_date},
        detail=detail,
    )
    ctx.uow.session.add(AgendaItem(panel_id=panel.id, request_id=case.id, purpose=purpose, added_by=ctx.principal.sub))
    await declare_conflicts(ctx.uow, panel.id, case.id, body.conflicts, ctx.principal)
    case.current_panel_id = panel.id
    emit_case_event(ctx.uow, case, "ifr.request.listed_for_panel", panel_id=panel.id, meeting_date=panel.meeting_date)


async def _check_ratification_meeting(ctx: ActionContext, case: IfrRequest, panel: Panel) -> None:
    chairs, _ = await chairs_action_awaiting(ctx, case)
    try:
        check_ratification_meeting(panel.meeting_date, chairs.decided_on)
    except GuardFailed as exc:
        raise field_problem("panel_id", str(exc)) from None


async def declare_conflicts(
    uow: IfrUnitOfWork, panel_id: uuid.UUID, request_id: uuid.UUID, conflicts: list[ConflictIn], principal: Principal
) -> None:
    for c in conflicts:
        await uow.session.execute(
            pg_insert(Conflict)
            .values(panel_id=panel_id, request_id=request_id, member_id=c.member_id, reason=c.reason)
            .on_conflict_do_nothing()
        )
        uow.audit(
            principal,
            "conflict_declared",
            "ifr_request",
            request_id,
            detail={"panel_id": str(panel_id), "member": c.member_id},
        )


async def request_reconsideration(ctx: ActionContext, case: IfrRequest, body: ReconsiderIn) -> None:
    await simple_transition(ctx, case, Action.REQUEST_RECONSIDERATION, {"new_information": body.new_information})
    case.current_panel_id = None
    emit_case_event(ctx.uow, case, "ifr.request.reconsideration_requested", new_information=body.new_information)


async def request_review(ctx: ActionContext, case: IfrRequest, body: ReviewIn) -> None:
    windows = [c for c in await case_clocks(ctx.uow, case.id) if c.clock == Clock.REVIEW_WINDOW and is_open(c)]
    if not windows or windows[-1].due_date < ctx.today:
        closed = f" on {windows[-1].due_date}" if windows else ""
        raise field_problem("grounds", f"the window to request a review closed{closed}")
    await simple_transition(ctx, case, Action.REQUEST_REVIEW, {"grounds": body.grounds})
    case.current_panel_id = None
    emit_case_event(ctx.uow, case, "ifr.request.review_requested", grounds=body.grounds)


async def withdraw(ctx: ActionContext, case: IfrRequest, body: WithdrawIn) -> None:
    await simple_transition(ctx, case, Action.WITHDRAW, {"reason": body.reason})
    emit_case_event(ctx.uow, case, "ifr.request.withdrawn", reason=body.reason)


async def close(ctx: ActionContext, case: IfrRequest, body: CloseIn) -> None:
    ensure_allowed(case, Action.CLOSE)  # after a review, only an upheld decision is closed
    await simple_transition(ctx, case, Action.CLOSE, {"reason": body.reason} if body.reason else None)


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


async def actions_for(uow: IfrUnitOfWork, principal: Principal, case: IfrRequest, allowed: list[str]) -> list[str]:
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
