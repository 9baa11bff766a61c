"""What screening can conclude instead of a panel: not an IFR (redirected, with the reason in words), one of
a cohort (a service development request for the region's policy team, naming the open cohort alert), or
screened out (the reasons in words).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from casework.problems import field_problem
from ifr_service.db.models import IfrRequest
from ifr_service.domain.case import Action
from ifr_service.domain.regions import region_name
from ifr_service.use_cases.action_base import ActionContext, Body, Reason, simple_transition
from ifr_service.use_cases.cohorts import open_alert_for
from ifr_service.use_cases.workflow import emit_case_event, ensure_allowed


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


async def redirect(ctx: ActionContext, case: IfrRequest, body: RedirectIn) -> None:
    text = REDIRECT_TEXT[body.reason] + (f": {body.detail}" if body.detail else "")
    detail = {"reason": body.reason.value, "explanation": body.detail, "redirected_to": body.redirected_to}
    await simple_transition(ctx, case, Action.REDIRECT, detail=detail)
    emit_case_event(ctx.uow, case, "ifr.request.redirected", redirect_reason=text, redirected_to=body.redirected_to)


async def redirect_service_development(ctx: ActionContext, case: IfrRequest, body: ServiceDevelopmentIn) -> None:
    """One of a cohort: to the region's policy process as a service development request."""
    alert = await open_alert_for(ctx.uow, case, ctx.today)
    if alert is None:  # the route checked it: an alert that lapsed since is the same 409
        ensure_allowed(case, Action.REDIRECT_SERVICE_DEVELOPMENT, in_cohort=False)
        raise AssertionError("unreachable: a redirect-service-development with no open cohort alert")
    if body.alert_id is not None and body.alert_id != alert.id:
        raise field_problem("alert_id", "is not the open cohort alert for this request's treatment in its region")
    detail = {"alert_id": str(alert.id), "alert_reference": alert.reference, "explanation": body.detail}
    await simple_transition(ctx, case, Action.REDIRECT_SERVICE_DEVELOPMENT, detail=detail)
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
        ctx, case, Action.SCREEN_OUT, detail={"reasons": [c.value for c in codes], "explanation": body.detail}
    )
    texts = [SCREEN_OUT_TEXT[c] for c in codes] + ([body.detail] if body.detail else [])
    emit_case_event(ctx.uow, case, "ifr.request.screened_out", reasons=texts)
