"""The events of an application, built from its row in one place: decided and withdrawn
(use_cases.applications), lapsed (use_cases.lapse), treatment started and stopped
(use_cases.sact_matching).

Payload models live in casework.events.catalogue.cdf; contract- and notification-service consume them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol, TypedDict

from pydantic import BaseModel

from casework.events.catalogue.cdf import (
    ApplicationApproved,
    ApplicationRejected,
    ApplicationWithdrawn,
    ApprovalLapsed,
    StopReason,
    TreatmentStarted,
    TreatmentStopped,
)
from cdf_service.db.models import Application
from cdf_service.domain.stop_reasons import NOT_STATED
from cdf_service.runtime import CdfUnitOfWork


class ApplicationKey(Protocol):
    """What every application event names (an Application row, or the SACT matcher's locked copy); read-only, so
    a row's columns and a named tuple's fields both fit."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def reference(self) -> str: ...

    @property
    def provider_ods(self) -> str: ...

    @property
    def entry_id(self) -> str: ...

    @property
    def dmd_id(self) -> str: ...

    @property
    def patient_ref(self) -> str: ...


class TreatmentFacts(ApplicationKey, Protocol):
    @property
    def first_administration(self) -> date | None: ...

    @property
    def first_dispensed(self) -> bool: ...

    @property
    def final_treatment_date(self) -> date | None: ...

    @property
    def stop_reason(self) -> str | None: ...

    @property
    def stop_reasons(self) -> list[str] | None: ...

    @property
    def cycles_given(self) -> int: ...

    @property
    def cost_per_cycle(self) -> Decimal: ...


class _ApplicationRef(TypedDict):
    application_id: uuid.UUID
    reference: str
    provider_ods: str
    entry_id: str
    dmd_id: str
    patient_ref: str


def _ref(app: ApplicationKey) -> _ApplicationRef:
    return _ApplicationRef(
        application_id=app.id,
        reference=app.reference,
        provider_ods=app.provider_ods,
        entry_id=app.entry_id,
        dmd_id=app.dmd_id,
        patient_ref=app.patient_ref,
    )


def emit_decision(uow: CdfUnitOfWork, app: Application) -> None:
    if app.status == "approved":
        payload: BaseModel = ApplicationApproved(
            **_ref(app),
            entry_version=app.entry_version,
            drug_name=app.drug_name,
            indication=app.indication,
            clinician_gmc=app.clinician_gmc,
            clinician_email=app.clinician_email,
            planned_start=app.planned_start,
            lapse_due=app.lapse_due,
            approved_at=app.created_at or datetime.now(UTC),
            expected_cost=app.expected_cost,
        )
        uow.emit("cdf.application.approved", str(app.id), payload)
        return
    rejected = ApplicationRejected(
        **_ref(app),
        drug_name=app.drug_name,
        clinician_email=app.clinician_email,
        unmet_criteria=list(app.unmet_criteria),
        reasons=list(app.reasons),
    )
    uow.emit("cdf.application.rejected", str(app.id), rejected)


def emit_withdrawn(uow: CdfUnitOfWork, app: Application) -> None:
    payload = ApplicationWithdrawn(
        **_ref(app), withdrawn_at=app.closed_at or datetime.now(UTC), reason=app.close_reason or ""
    )
    uow.emit("cdf.application.withdrawn", str(app.id), payload)


def emit_lapsed(uow: CdfUnitOfWork, app: Application) -> None:
    payload = ApprovalLapsed(
        **_ref(app),
        planned_start=app.planned_start,
        lapse_due=app.lapse_due,
        clinician_email=app.clinician_email,
        committed_amount=app.expected_cost,
    )
    uow.emit("cdf.approval.lapsed", str(app.id), payload)


def emit_started(uow: CdfUnitOfWork, app: TreatmentFacts) -> None:
    assert app.first_administration is not None
    payload = TreatmentStarted(
        **_ref(app),
        first_administration=app.first_administration,
        cycles_to_date=app.cycles_given,
        dispensed=app.first_dispensed,
    )
    uow.emit("cdf.treatment.started", str(app.id), payload)


def emit_stopped(uow: CdfUnitOfWork, app: TreatmentFacts) -> None:
    assert app.final_treatment_date is not None
    payload = TreatmentStopped(
        **_ref(app),
        final_treatment_date=app.final_treatment_date,
        stop_reason=app.stop_reason or NOT_STATED,
        stop_reasons=[StopReason(reason) for reason in app.stop_reasons or ()],
        cycles_given=app.cycles_given,
        cost_to_date=app.cost_per_cycle * app.cycles_given,
    )
    uow.emit("cdf.treatment.stopped", str(app.id), payload)
