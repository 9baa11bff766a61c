"""Applying for a prior approval: the national list's entry in force on the planned start, the applying
clinician's registration, every criterion answered, one live approval per patient and entry, and the
budget what-if shown checked against what the approval commits; decided at once (approved, or rejected
naming every reason), stored, announced as cdf.application.approved or .rejected, and an approval's
trust and entry marked for a new forecast. Withdrawing one (from the version the caller read, If-Match):
closed, announced as cdf.application.withdrawn, its trust and entry marked for a new forecast."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Protocol

from casework.auth import Forbidden, Principal
from casework.budget_impact import BudgetImpact, mismatch
from casework.concurrency import require_version, stale_to_412
from casework.financial_year import financial_year_of
from casework.problems import Conflict, Unprocessable, field_problem
from cdf_service.db import application_repo
from cdf_service.db.application_repo import ApplicationContext
from cdf_service.db.forecast_repo import mark_dirty, stage_dirty
from cdf_service.db.list_cache import list_cache
from cdf_service.db.models import Application
from cdf_service.domain.clinicians import may_apply_problem
from cdf_service.domain.national_list import ListEntry
from cdf_service.domain.prior_approval import (
    TRANSITIONS,
    ApplicationAction,
    ApplicationState,
    decide_application,
    initial_state,
    lapse_due_date,
)
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.use_cases.application_events import emit_decision, emit_withdrawn

ENTITY = "cdf_application"


class ApplicationAsked(Protocol):
    """What an application asks (the route's parsed body)."""

    nhs_number: str
    date_of_birth: date
    provider_ods: str
    entry_id: str
    clinician_gmc: str
    answers: dict[str, bool]
    planned_start: date
    consent_confirmed: bool
    budget_impact: BudgetImpact | None


async def apply(
    uow: CdfUnitOfWork,
    runtime: CdfRuntime,
    body: ApplicationAsked,
    *,
    context: ApplicationContext,
    patient_ref: str,
    principal: Principal,
) -> Application:
    """The application decided and staged with its event, forecast mark and audit row (not committed), or
    the problem that stops it (nothing written). `context`: the clinician and live approval read with the
    Idempotency-Key lookup."""
    settings = runtime.settings
    found = await list_cache(runtime).entry_for(
        uow.session, body.entry_id, body.planned_start, settings.list_cache_ttl_s
    )
    if found is None:
        raise field_problem("entry_id", f"{body.entry_id} is not an entry of the national CDF list")
    entry, in_force = found
    clinician = context.applicant
    if clinician is None:
        raise field_problem("clinician_gmc", may_apply_problem(None, body.provider_ods) or "")
    if problem := may_apply_problem(clinician.status, body.provider_ods):
        raise Forbidden(f"clinician {body.clinician_gmc} may not apply: {problem}", field="clinician_gmc")
    _check_answers(entry, body.answers)
    if context.live_approval is not None:
        raise duplicate_approval(context.live_approval, entry.entry_id)
    decision = decide_application(entry, body.answers, body.planned_start, body.consent_confirmed)
    reasons = list(decision.reasons)
    if not in_force:
        reasons.insert(0, f"list entry {entry.entry_id} is not on the list on {body.planned_start.isoformat()}")
    approved = in_force and decision.approved
    if body.budget_impact is not None and (
        wrong := mismatch(
            body.budget_impact,
            source="cdf",
            provider_ods=body.provider_ods,
            financial_year=financial_year_of(body.planned_start).financial_year,
            amount=entry.expected_cost if approved else None,  # a rejection commits nothing
        )
    ):
        raise field_problem(*wrong)
    app = Application(
        id=uuid.uuid4(),
        reference=f"CDF-{uuid.uuid4().hex[:10].upper()}",
        provider_ods=body.provider_ods,
        patient_ref=patient_ref,
        nhs_number=body.nhs_number,
        date_of_birth=body.date_of_birth,
        entry_id=entry.entry_id,
        entry_version=entry.version,
        dmd_id=entry.dmd_id,
        drug_name=entry.drug_name,
        drug_key=entry.drug_name.strip().lower(),
        indication=entry.indication,
        clinician_id=clinician.id,
        clinician_gmc=clinician.gmc_number,
        clinician_email=clinician.email,
        answers=body.answers,
        consent_confirmed=body.consent_confirmed,
        planned_start=body.planned_start,
        lapse_window_days=entry.lapse_window_days,
        lapse_due=lapse_due_date(body.planned_start, entry.lapse_window_days),
        expected_cost=entry.expected_cost,
        cost_per_cycle=entry.cost_per_cycle,
        budget_impact=None if body.budget_impact is None else body.budget_impact.model_dump(mode="json"),
        status=(initial_state(decision) if in_force else ApplicationState.REJECTED).value,
        unmet_criteria=list(decision.unmet_criteria),
        reasons=reasons,
        cycles_given=0,
        version=1,
        created_by=principal.sub,
        created_at=datetime.now(UTC),
    )
    application_repo.stage_insert(uow, app)
    emit_decision(uow, app)
    if app.status == ApplicationState.APPROVED:
        stage_dirty(uow, [(app.provider_ods, app.entry_id)])
    uow.audit(principal, "create", ENTITY, app.id, detail={"status": app.status})
    return app


async def withdraw(
    uow: CdfUnitOfWork, app: Application, *, reason: str, if_match: str | None, principal: Principal
) -> None:
    """The application withdrawn from the version the caller read, flushed with its event, forecast mark
    and audit row (not committed)."""
    require_version(if_match, app.version)
    app.status = TRANSITIONS.next_state(app.status, ApplicationAction.WITHDRAW)
    app.closed_at, app.close_reason = datetime.now(UTC), reason
    async with stale_to_412():
        await uow.session.flush()
    emit_withdrawn(uow, app)
    await mark_dirty(uow, [(app.provider_ods, app.entry_id)])
    uow.audit(principal, "withdraw", ENTITY, app.id, reason=reason)


def _check_answers(entry: ListEntry, answers: dict[str, bool]) -> None:
    unknown = sorted(set(answers) - entry.criterion_codes)
    missing = [c.code for c in entry.criteria if c.code not in answers]
    errors = [{"field": f"answers.{c}", "message": f"entry {entry.entry_id} has no criterion {c}"} for c in unknown]
    errors += [{"field": f"answers.{c}", "message": "an answer is required"} for c in missing]
    if errors:
        raise Unprocessable("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def duplicate_approval(existing: uuid.UUID | None, entry_id: str) -> Conflict:
    return Conflict(
        f"the patient already has a live approval for {entry_id} ({existing})",
        existing_id=str(existing) if existing else None,
    )
