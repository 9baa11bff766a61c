"""IFR cohort alerts: requests for one treatment from one region's trusts that reached the cohort
threshold (ifr-service's cohort trigger), for NHS England's IFR team and analysts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.deps import CurrentSession, UserApis
from web_console.form_fields import Field
from web_console.labels import REGIONS
from web_console.pages import render
from web_console.paging import list_links

router = APIRouter(prefix="/ifr/cohort-alerts")
FILTER_FIELDS = (
    Field("region", "Region", "radios", options=(("", "Every region"), *REGIONS)),
    Field("open", "Alerts", "radios", options=(("true", "Open now"), ("false", "Every alert, lapsed ones too"))),
)
REGION_CODES = {code for code, _ in REGIONS}


@router.get("")
async def alerts_page(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    region: Annotated[str | None, Query(max_length=3)] = None,
    open_only: Annotated[str | None, Query(alias="open", max_length=5)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters: dict[str, Any] = {
        "region": region if region in REGION_CODES else None,
        "open": "false" if open_only == "false" else "true",
    }
    params = {k: v for k, v in filters.items() if v is not None}
    page = await apis.ifr.get("/ifr/cohort-alerts", **params, limit=20, cursor=cursor)
    return render(
        request,
        "ifr/cohort_alerts.html",
        title="IFR cohort alerts",
        page=page,
        filters=filters,
        filter_fields=FILTER_FIELDS,
        shown={"region": filters["region"] or "", "open": filters["open"]},
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get("/{alert_id}")
async def alert_page(request: Request, alert_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    alert = await apis.ifr.get(f"/ifr/cohort-alerts/{alert_id}")
    return render(request, "ifr/cohort_alert.html", title=f"Cohort alert {alert['reference']}", alert=alert)
