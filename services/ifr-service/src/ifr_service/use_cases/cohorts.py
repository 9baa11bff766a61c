"""The cohort trigger over the database: when a request is received, count its treatment's requests in
its region and raise or add to the cohort alert (domain/cohort.py decides), with the event, in the
caller's unit of work (one transaction with the submission).

Two requests for one treatment and region received at once are counted one after the other: the count
takes a transaction-scoped advisory lock on the treatment and region first, so the second waits for the
first to commit and then sees it (under READ COMMITTED each statement sees what committed before it).
The unique key on the alert (treatment, region, window start) makes a crossing one row whatever happens.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ifr_service.db.models import COHORT_REFERENCE_SEQUENCE, CohortAlert, CohortAlertCase, IfrRequest
from ifr_service.domain.cohort import CohortStep, cohort_step, open_until, window_opens
from ifr_service.domain.regions import region_name
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.settings import IfrSettings

ACTOR = "system:ifr-cohort"


async def count_received(uow: IfrUnitOfWork, case: IfrRequest, settings: IfrSettings) -> CohortAlert | None:
    """Count the case (just received, or its treatment changed) into its treatment's cohort; the alert
    it raised or joined, or None."""
    key, region, on = case.treatment_key, case.region, case.received_on
    if key is None or region is None or on is None:
        return None  # no treatment code and indication, or a trust in no region: nothing to count
    rule = settings.cohort_rule()
    session = uow.session
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"ifr-cohort|{key}|{region}"))))
    await session.flush()  # this case's own row (received, its key) is in the count
    latest = await session.scalar(
        select(CohortAlert)
        .where(CohortAlert.treatment_key == key, CohortAlert.region == region)
        .order_by(CohortAlert.window_start.desc())
        .limit(1)
    )
    in_window = (
        await session.execute(
            select(IfrRequest.id, IfrRequest.received_on).where(
                IfrRequest.treatment_key == key,
                IfrRequest.region == region,
                IfrRequest.received_on > window_opens(on, rule),
                IfrRequest.received_on <= on,
            )
        )
    ).all()
    step = cohort_step(len(in_window), on, latest.open_until if latest else None, rule)
    if step is CohortStep.DETECTED:
        return await _detect(uow, case, [(r.id, r.received_on) for r in in_window], settings)
    if step is CohortStep.JOINED and latest is not None:
        return await _join(uow, latest, case, settings)
    return None


async def _detect(
    uow: IfrUnitOfWork, case: IfrRequest, counted: list[tuple[uuid.UUID, date]], settings: IfrSettings
) -> CohortAlert | None:
    rule = settings.cohort_rule()
    on = case.received_on
    assert on is not None and case.treatment_key is not None and case.region is not None
    received = [d for _, d in counted]
    number = await uow.session.scalar(select(COHORT_REFERENCE_SEQUENCE.next_value()))
    clinical = (case.application or {}).get("clinical") or {}
    alert_id = uuid.uuid4()
    inserted = await uow.session.scalar(
        pg_insert(CohortAlert)
        .values(
            id=alert_id,
            reference=f"COHORT-{on.year}-{number:04d}",
            treatment_key=case.treatment_key,
            region=case.region,
            treatment_name=case.treatment_name or case.treatment_code or "",
            treatment_code=case.treatment_code or "",
            indication_code=clinical.get("diagnosis_icd10"),
            indication=clinical.get("diagnosis"),
            min_requests=rule.min_requests,
            window_months=rule.window_months,
            window_start=min(received),
            detected_on=on,
            open_until=open_until(received, rule),
            request_count=len(counted),
        )
        .on_conflict_do_nothing(index_elements=["treatment_key", "region", "window_start"])
        .returning(CohortAlert.id)
    )
    if inserted is None:
        return None  # this crossing's alert exists already
    await uow.session.execute(
        pg_insert(CohortAlertCase),
        [{"alert_id": alert_id, "request_id": request_id, "joined": False} for request_id, _ in counted],
    )
    alert = await uow.session.get_one(CohortAlert, alert_id)
    payload = await _payload(uow, alert)
    uow.emit("ifr.cohort.detected", subject=str(alert.id), payload=payload)
    uow.audit(ACTOR, "cohort.detected", "ifr_cohort_alert", alert.id, detail={"cases": payload["request_count"]})
    return alert


async def _join(uow: IfrUnitOfWork, alert: CohortAlert, case: IfrRequest, settings: IfrSettings) -> CohortAlert | None:
    added = await uow.session.scalar(
        pg_insert(CohortAlertCase)
        .values(alert_id=alert.id, request_id=case.id, joined=True)
        .on_conflict_do_nothing(index_elements=["alert_id", "request_id"])
        .returning(CohortAlertCase.id)
    )
    if added is None:
        return alert  # counted in it already
    received = list(
        await uow.session.scalars(
            select(IfrRequest.received_on)
            .join(CohortAlertCase, CohortAlertCase.request_id == IfrRequest.id)
            .where(CohortAlertCase.alert_id == alert.id)
        )
    )
    alert.request_count = len(received)
    alert.open_until = open_until([d for d in received if d is not None], settings.cohort_rule()) or alert.open_until
    await uow.session.flush()
    payload = await _payload(uow, alert)
    uow.emit("ifr.cohort.updated", subject=str(alert.id), payload={**payload, "added": [case.reference]})
    uow.audit(ACTOR, "cohort.joined", "ifr_cohort_alert", alert.id, detail={"reference": case.reference})
    return alert


async def open_alert_for(uow: IfrUnitOfWork, case: IfrRequest, on: date) -> CohortAlert | None:
    """The open cohort alert for the case's treatment in its region on `on` (its requests need not
    include the case: a draft, or a request received before the window, matches too)."""
    if case.treatment_key is None or case.region is None:
        return None
    return await uow.session.scalar(
        select(CohortAlert)
        .where(
            CohortAlert.treatment_key == case.treatment_key,
            CohortAlert.region == case.region,
            CohortAlert.open_until > on,
        )
        .order_by(CohortAlert.window_start.desc())
        .limit(1)
    )


async def alert_cases(uow: IfrUnitOfWork, alert_id: uuid.UUID) -> list[dict[str, Any]]:
    """The alert's requests, oldest first: reference, trust, received, state and outcome so far."""
    rows = (
        await uow.session.execute(
            select(
                IfrRequest.id,
                IfrRequest.reference,
                IfrRequest.provider_ods,
                IfrRequest.received_on,
                IfrRequest.state,
                IfrRequest.outcome,
            )
            .join(CohortAlertCase, CohortAlertCase.request_id == IfrRequest.id)
            .where(CohortAlertCase.alert_id == alert_id)
            .order_by(IfrRequest.received_on, IfrRequest.reference)
        )
    ).all()
    return [
        {
            "request_id": r.id,
            "reference": r.reference,
            "provider_ods": r.provider_ods or "",
            "received_on": r.received_on,
            "state": r.state,
            "outcome": r.outcome,
        }
        for r in rows
    ]


async def _payload(uow: IfrUnitOfWork, alert: CohortAlert) -> dict[str, Any]:
    cases = await alert_cases(uow, alert.id)
    return {
        "alert_id": alert.id,
        "reference": alert.reference,
        "region": alert.region,
        "region_name": region_name(alert.region),
        "treatment_key": alert.treatment_key,
        "treatment_name": alert.treatment_name,
        "treatment_code": alert.treatment_code,
        "indication_code": alert.indication_code,
        "indication": alert.indication,
        "min_requests": alert.min_requests,
        "window_months": alert.window_months,
        "window_start": alert.window_start,
        "detected_on": alert.detected_on,
        "open_until": alert.open_until,
        "request_count": len(cases),
        "cases": cases,
        "trusts": sorted({c["provider_ods"] for c in cases if c["provider_ods"]}),
    }
