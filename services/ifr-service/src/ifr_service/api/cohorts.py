"""Cohort alerts (domain/cohort.py, cohorts.py): the open ones by region, and one with its requests."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from casework.auth import Principal, Role, require_roles
from casework.clock import today
from casework.pagination import Page, paginate
from casework.problems import NotFound
from ifr_service.api.schemas import CohortAlertRef, alert_ref
from ifr_service.db.models import CohortAlert
from ifr_service.domain.regions import Region
from ifr_service.runtime import IfrUnitOfWork, Uow
from ifr_service.use_cases.cohorts import alert_cases

router = APIRouter(prefix="/ifr/cohort-alerts", tags=["cohort alerts"])
# NHS England's: an alert lists requests from several trusts
COHORT_READERS = (Role.IFR_OFFICER, Role.NATIONAL_ANALYST, Role.SERVICE)
Reader = Annotated[Principal, Depends(require_roles(*COHORT_READERS))]


class CohortCaseOut(BaseModel):
    request_id: uuid.UUID
    reference: str
    provider_ods: str
    received_on: date
    state: str
    outcome: str | None


class CohortAlertOut(CohortAlertRef):
    treatment_key: str
    treatment_code: str
    indication_code: str | None
    indication: str | None
    min_requests: int
    window_months: int
    window_start: date
    detected_on: date
    open: bool = Field(description="Still open today: the count in the window ending today is at the threshold")
    cases: list[CohortCaseOut]
    trusts: list[str]


async def alert_out(uow: IfrUnitOfWork, alert: CohortAlert) -> CohortAlertOut:
    cases = [CohortCaseOut(**c) for c in await alert_cases(uow, alert.id)]
    return CohortAlertOut(
        **alert_ref(alert).model_dump(),
        treatment_key=alert.treatment_key,
        treatment_code=alert.treatment_code,
        indication_code=alert.indication_code,
        indication=alert.indication,
        min_requests=alert.min_requests,
        window_months=alert.window_months,
        window_start=alert.window_start,
        detected_on=alert.detected_on,
        open=alert.open_until > today(),
        cases=cases,
        trusts=sorted({c.provider_ods for c in cases if c.provider_ods}),
    )


@router.get("", response_model=Page[CohortAlertOut])
async def list_alerts(
    uow: Uow,
    principal: Reader,
    region: Region | None = None,
    open_only: Annotated[bool, Query(alias="open", description="only alerts open today (false: every alert)")] = True,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[CohortAlertOut]:
    """Cohort alerts, oldest detection first, each with its requests (by reference, trust, outcome so far)."""
    query = select(CohortAlert)
    if region:
        query = query.where(CohortAlert.region == region)
    if open_only:
        query = query.where(CohortAlert.open_until > today())
    rows, next_cursor = await paginate(uow.session, query, (CohortAlert.created_at, CohortAlert.id), cursor, limit)
    return Page[CohortAlertOut](items=[await alert_out(uow, a) for a in rows], next_cursor=next_cursor)


@router.get("/{alert_id}", response_model=CohortAlertOut)
async def read_alert(alert_id: uuid.UUID, uow: Uow, principal: Reader) -> CohortAlertOut:
    alert = await uow.session.get(CohortAlert, alert_id)
    if alert is None:
        raise NotFound(f"cohort alert {alert_id} not found")
    uow.audit(principal, "read", "ifr_cohort_alert", alert.id)
    out = await alert_out(uow, alert)
    await uow.commit()
    return out
