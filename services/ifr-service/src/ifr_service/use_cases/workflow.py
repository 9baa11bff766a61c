"""Moving a case: the transition table, the clocks, the transition record, the events and letters,
all in the caller's unit of work (one transaction).

Routes and the mail handler call these; they hold no HTTP and no rules of their own beyond putting
the domain's pieces together.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from casework.auth import Principal
from casework.clock import today  # England's working day: a case at 23:30 UTC in summer came the next day
from casework.problems import Conflict, field_problem
from casework.state_machine import IllegalTransition
from ifr_service.access import PROVIDER_ROLES, not_found, visible_cases
from ifr_service.db.models import REFERENCE_SEQUENCE, CaseClock, IfrRequest, Letter, Transition
from ifr_service.domain.application import Application
from ifr_service.domain.case import CASE, CaseState, allowed_actions, refusal
from ifr_service.domain.clocks import ClockPlan, apply_plan, new_clocks, next_due
from ifr_service.domain.cohort import treatment_key
from ifr_service.domain.letters import render
from ifr_service.domain.regions import Region, region_of
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.settings import IfrSettings


async def new_reference(uow: IfrUnitOfWork) -> str:
    number = await uow.session.scalar(select(REFERENCE_SEQUENCE.next_value()))
    return f"IFR-{today().year}-{number:06d}"


async def get_case(uow: IfrUnitOfWork, request_id: uuid.UUID, principal: Principal | None) -> IfrRequest:
    query = select(IfrRequest).where(IfrRequest.id == request_id)
    if principal is not None:
        query = visible_cases(query, principal)
    case = await uow.session.scalar(query)
    if case is None:
        raise not_found(request_id)
    return case


async def case_clocks(uow: IfrUnitOfWork, request_id: uuid.UUID) -> list[CaseClock]:
    rows = await uow.session.scalars(
        select(CaseClock).where(CaseClock.request_id == request_id).order_by(CaseClock.started_on, CaseClock.clock)
    )
    return list(rows)


def actor_of(principal: Principal | str) -> str:
    return principal if isinstance(principal, str) else principal.sub


async def transition(
    uow: IfrUnitOfWork,
    case: IfrRequest,
    action: str,
    *,
    principal: Principal | str,
    settings: IfrSettings,
    plan: ClockPlan,
    on: date | None = None,
    starts: dict[Any, date] | None = None,
    detail: dict[str, Any] | None = None,
) -> list[CaseClock]:
    """Apply `action` to the case: next state from the table (409 if illegal), clocks, history, audit."""
    on = on or today()
    from_state = case.state
    case.state = CASE.next_state(from_state, action)
    clocks = await case_clocks(uow, case.id)
    apply_plan(plan, clocks, on)
    for span in new_clocks(plan, settings.clock_days(), case.urgent, on, starts):
        row = CaseClock(
            id=uuid.uuid4(),
            request_id=case.id,
            clock=str(span.clock),
            started_on=span.started_on,
            days=span.days,
            paused_days=0,
            cancelled=False,
            due_date=span.due_date,
        )
        uow.session.add(row)
        clocks.append(row)
    case.next_due = next_due(clocks)
    detail = detail or {}
    uow.session.add(
        Transition(
            request_id=case.id,
            action=action,
            from_state=from_state,
            to_state=case.state,
            on=on,
            actor=actor_of(principal),
            detail=detail,
        )
    )
    uow.audit(
        principal,
        f"transition:{action}",
        "ifr_request",
        case.id,
        reason=detail.get("reason"),
        detail={"from": from_state, "to": case.state, **detail},
    )
    return clocks


def ensure_allowed(case: IfrRequest, action: str, in_cohort: bool = False) -> None:
    """Raise the 409 before any other check, so a client learns first what it may do next.

    An action is allowed when it is in the case's `allowed_actions` (what every case response lists):
    the table's moves from the state, less those the case's facts rule out (a routine case's chair's
    action; after a review, the follow-up its outcome does not allow; a service development redirect
    unless `in_cohort`: an open cohort alert matches the case). Either way the 409 names the
    current state and the allowed actions."""
    allowed = allowed_actions(case.state, case.urgent, case.review_outcome, in_cohort)
    if action in allowed:
        return
    if not CASE.can(case.state, action):
        raise IllegalTransition(CASE.machine, case.state, action, allowed)
    reason = refusal(case.state, action, case.urgent, case.review_outcome, in_cohort)
    extra: dict[str, Any] = {"review_outcome": case.review_outcome} if case.state == CaseState.REVIEW_DECIDED else {}
    raise Conflict(
        f"{CASE.machine}: cannot {action} in state {case.state}: {reason}; allowed: {', '.join(allowed) or 'none'}",
        title="Action not allowed in this state",
        current_state=case.state,
        action=str(action),
        allowed_actions=allowed,
        **extra,
    )


def emit_case_event(uow: IfrUnitOfWork, case: IfrRequest, event_type: str, **fields: Any) -> None:
    """Emit an event about the case; when the event sends a letter, keep the case's copy of it."""
    payload = {
        "request_id": case.id,
        "reference": case.reference,
        "provider_ods": case.provider_ods or "",
        "state": case.state,
        "urgent": case.urgent,
        "clinician_email": case.clinician_email,
        **fields,
    }
    envelope = uow.emit(event_type, subject=str(case.id), payload=payload)
    clinician = (case.application.get("clinician") or {}).get("name")
    letter = render(event_type, {**envelope.data, "clinician_name": clinician})
    if letter is not None:
        uow.session.add(
            Letter(
                id=uuid.uuid4(),
                request_id=case.id,
                kind=letter.kind,
                event_type=event_type,
                event_id=envelope.id,
                recipient=case.clinician_email,
                subject=letter.subject,
                body=letter.body,
                data=envelope.data,
                template=letter.template,
                template_version=letter.version,
            )
        )
        detail = {"kind": letter.kind, "event": event_type, "template": f"{letter.template} v{letter.version}"}
        uow.audit("system:ifr", "letter", "ifr_request", case.id, detail=detail)


def check_trust(principal: Principal, application: Application) -> None:
    """A provider may only apply for its own trust's patients."""
    ods = application.clinician.trust_ods
    if ods is not None and principal.has_any(PROVIDER_ROLES) and not principal.can_see(ods):
        raise field_problem("clinician.trust_ods", "must be your own organisation")


def apply_application(case: IfrRequest, application: Application, trust_regions: Mapping[str, Region]) -> None:
    """Keep the application and the columns worklists filter on in step (the region follows the trust)."""
    case.application = application.model_dump(mode="json")
    case.provider_ods = application.clinician.trust_ods or case.provider_ods
    case.region = region_of(case.provider_ods, trust_regions)
    case.urgent = application.urgent
    apply_treatment(case, application)
    case.clinician_email = str(application.clinician.email) if application.clinician.email else case.clinician_email


def apply_treatment(case: IfrRequest, application: Application) -> None:
    """The treatment's columns: its name, its code (dm+d, else OPCS-4) and the key cohorts count by."""
    t, clinical = application.treatment, application.clinical
    case.treatment_name = t.name
    case.treatment_code = t.dmd_code or t.opcs4_code
    case.treatment_key = treatment_key(t.dmd_code, t.opcs4_code, clinical.diagnosis_icd10, clinical.diagnosis)


def now() -> datetime:
    return datetime.now(UTC)
