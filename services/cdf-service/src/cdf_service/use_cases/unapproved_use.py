"""Moving a detected unapproved use of a listed drug through its table: each move saved with its
cdf.unapproved_use event and audit row; the trust's answer checked first (an approval reference that
covers the use: this trust, patient and drug, approved or treated under it, and the detection linked to
it; or a written explanation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from casework.auth import Principal
from casework.concurrency import stale_to_412
from casework.events.catalogue.cdf import (
    UnapprovedUseAccepted,
    UnapprovedUseAnswered,
    UnapprovedUseChallenged,
    UnapprovedUseClosed,
)
from casework.problems import Unprocessable, field_problem
from cdf_service.db.models import Application, UnapprovedUse
from cdf_service.domain.unapproved_use import (
    TRANSITIONS,
    ApprovalFacts,
    Detected,
    DetectionAction,
    answer_problems,
    reference_problem,
)
from cdf_service.runtime import CdfUnitOfWork

ENTITY = "cdf_unapproved_use"


async def step(
    uow: CdfUnitOfWork, principal: Principal, use: UnapprovedUse, *, action: DetectionAction, **changes: Any
) -> None:
    """One move of the table, with its changes, flushed with its event and audit row (not committed)."""
    use.status = TRANSITIONS.next_state(use.status, action)
    for name, value in changes.items():
        setattr(use, name, value)
    async with stale_to_412():
        await uow.session.flush()
    emit_unapproved_use_change(uow, use, action, by=principal.sub)
    uow.audit(principal, str(action), ENTITY, use.id, detail={"status": use.status})


async def answer(
    uow: CdfUnitOfWork,
    use: UnapprovedUse,
    *,
    approval_reference: str | None,
    explanation: str | None,
    principal: Principal,
) -> None:
    """The trust's answer, checked and saved (not committed), or the problem with it (nothing written)."""
    reference = (approval_reference or "").strip().upper() or None
    explanation = (explanation or "").strip() or None
    if problems := answer_problems(reference, explanation):
        errors = [{"field": f, "message": m} for f, m in problems]
        raise Unprocessable("; ".join(f"{f}: {m}" for f, m in problems), errors=errors)
    application_id = None
    if reference is not None:
        approval = await uow.session.scalar(select(Application).where(Application.reference == reference))
        facts = None
        if approval is not None:
            facts = ApprovalFacts(
                approval.reference, approval.provider_ods, approval.patient_ref, approval.drug_key, approval.status
            )
        detected = Detected(use.provider_ods, use.patient_ref, use.drug_key)
        if problem := reference_problem(detected, facts, reference):
            raise field_problem("approval_reference", problem)
        application_id = approval.id if approval is not None else None
    await step(
        uow,
        principal,
        use,
        action=DetectionAction.ANSWER,
        approval_reference=reference,
        application_id=application_id,
        explanation=explanation,
        answered_by=principal.sub,
        answered_at=datetime.now(UTC),
        decision_note=None,
        decided_by=None,
        decided_at=None,
    )


def emit_unapproved_use_change(uow: CdfUnitOfWork, use: UnapprovedUse, action: DetectionAction, *, by: str) -> None:
    """The event of a detection's step: answered, accepted, challenged or closed (patient_ref only)."""
    ref: dict[str, Any] = {  # the fields every step's event shares, each checked by its model
        "detection_id": use.id,
        "provider_ods": use.provider_ods,
        "patient_ref": use.patient_ref,
        "dmd_id": use.dmd_id or "",
        "drug_name": use.drug_name or use.drug_key,
        "first_administration": use.first_administration,
        "submission_id": use.submission_id,
        "status": use.status,
    }
    payload: UnapprovedUseAnswered | UnapprovedUseAccepted | UnapprovedUseChallenged | UnapprovedUseClosed
    if action is DetectionAction.ANSWER:
        payload = UnapprovedUseAnswered(
            **ref,
            approval_reference=use.approval_reference,
            application_id=use.application_id,
            explanation=use.explanation,
            answered_by=by,
        )
    elif action is DetectionAction.ACCEPT:
        payload = UnapprovedUseAccepted(**ref, note=use.decision_note, decided_by=by)
    elif action is DetectionAction.CHALLENGE:
        payload = UnapprovedUseChallenged(**ref, reason=use.decision_note or "", cycles=use.cycles, decided_by=by)
    else:
        payload = UnapprovedUseClosed(**ref, note=use.decision_note, closed_by=by)
    uow.emit(f"cdf.unapproved_use.{use.status}", str(use.id), payload)
