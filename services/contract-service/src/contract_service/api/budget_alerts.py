"""The at-risk alerts of budget lines, with when each was raised (and cleared): JSON pages and CSV."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select

from casework.auth import Principal
from casework.csv_export import csv_response
from casework.identifiers import OdsCode
from casework.pagination import Page, paginate
from casework.problems import NotFound
from contract_service.api.access import reader
from contract_service.api.forecast import ANOTHER_PROVIDER, fy_param
from contract_service.db.alerts import alerts_query
from contract_service.db.models import BudgetAlert
from contract_service.runtime import Uow

router = APIRouter(tags=["forecast outturn"])


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    budget_line_id: uuid.UUID
    provider_ods: str
    financial_year: str
    line_name: str
    budget: Decimal
    forecast_outturn: Decimal  # when the alert was raised
    variance: Decimal
    margin_pct: Decimal
    raised_at: datetime
    cleared_at: datetime | None  # the forecast fell back to or below the margin


def _visible(principal: Principal, provider: str | None, fy: str | None, open_only: bool) -> Select[BudgetAlert]:
    """A provider user naming another provider gets 404, as for the forecast outturn itself."""
    if provider and not principal.can_see(provider):
        raise NotFound(f"provider {provider} not found")
    return alerts_query(principal.org_filter(), provider, fy_param(fy) if fy else None, open_only)


@router.get("/forecast-outturn/alerts", response_model=Page[AlertOut], responses=ANOTHER_PROVIDER)
async def list_alerts(
    uow: Uow,
    provider: OdsCode | None = None,
    fy: str | None = Query(None, examples=["2026/27"]),
    open_only: bool = Query(False, alias="open", description="only alerts not yet cleared"),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = reader,
) -> Page[AlertOut]:
    """Oldest first (raised_at, then id), cursor-paged."""
    query = _visible(principal, provider, fy, open_only)
    rows, next_cursor = await paginate(uow.session, query, (BudgetAlert.raised_at, BudgetAlert.id), cursor, limit)
    return Page(items=[AlertOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/forecast-outturn/alerts.csv", response_class=Response, responses=ANOTHER_PROVIDER)
async def export_alerts(
    uow: Uow,
    provider: OdsCode | None = None,
    fy: str | None = Query(None, examples=["2026/27"]),
    open_only: bool = Query(False, alias="open"),
    principal: Principal = reader,
) -> Response:
    query = _visible(principal, provider, fy, open_only).order_by(BudgetAlert.raised_at, BudgetAlert.id)
    rows = [AlertOut.model_validate(r).model_dump() for r in (await uow.session.scalars(query)).all()]
    return csv_response(tuple(AlertOut.model_fields), rows, "budget-alerts.csv")
