"""The case actions from a submitted application to screening: submit (every missing field named), acknowledge
receipt, start screening, return the case for information and the clinician's answer (the application
changed with it, and counted again in its treatment's cohort if the treatment changed).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from casework.identifiers import patient_ref
from casework.problems import Unprocessable, field_problem
from ifr_service.access import PROVIDER_ROLES
from ifr_service.db.models import IfrRequest
from ifr_service.domain.application import Application, merge, missing_for_submission
from ifr_service.domain.case import Action
from ifr_service.domain.clocks import Clock, is_open, plan_for
from ifr_service.domain.regions import region_of
from ifr_service.use_cases.action_base import ActionContext, Body, NoBody, Reason, simple_transition
from ifr_service.use_cases.cohorts import count_received
from ifr_service.use_cases.workflow import apply_treatment, emit_case_event, now, transition


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
    await transition(
        ctx.uow,
        case,
        Action.SUBMIT,
        principal=ctx.principal,
        settings=ctx.settings,
        plan=plan_for(Action.SUBMIT),
        on=received_on,
    )
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
    await simple_transition(
        ctx, case, Action.REQUEST_INFORMATION, detail={"information_needed": body.information_needed}
    )
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
    await simple_transition(ctx, case, Action.PROVIDE_INFORMATION, detail={"information": body.information})
    emit_case_event(ctx.uow, case, "ifr.request.resubmitted")
    if case.treatment_key != counted_as:  # now a request for another treatment: counted in its cohort
        await count_received(ctx.uow, case, ctx.settings)
