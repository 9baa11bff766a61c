"""The quarterly national IFR data return, on a page and as the API's CSV and JSON."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from casework import clock
from web_console.apis import ApiProblem
from web_console.deps import CurrentSession, UserApis
from web_console.forms import FormErrors
from web_console.ifr.consistency import period_query
from web_console.pages import render
from web_console.periods import counted_back

router = APIRouter(prefix="/ifr/reports")
QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
MEASURES = (
    ("received", "Received"),
    ("screened_out", "Screened out"),
    ("redirected", "Redirected"),
    ("heard_by_panel", "Heard by panel"),
    ("approved", "Approved"),
    ("approved_with_conditions", "Approved with conditions"),
    ("declined", "Declined"),
    ("decided_by_chairs_action", "Decided by chair's action"),
    ("ratified", "Ratified"),
    ("overturned", "Overturned"),
    ("reconsiderations_requested", "Reconsiderations requested"),
    ("reviews_requested", "Reviews requested"),
    ("reviews_upheld", "Reviews upheld"),
    ("reviews_flawed", "Reviews found flawed"),
    ("withdrawn", "Withdrawn"),
)


def this_quarter(today: date | None = None) -> str:
    today = today or clock.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def recent_quarters(count: int = 6, today: date | None = None) -> list[str]:
    today = today or clock.today()
    return [f"{year}-Q{quarter}" for year, quarter in counted_back(today.year, (today.month - 1) // 3 + 1, 4, count)]


@router.get("/quarterly")
async def quarterly(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    quarter: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    chosen = quarter or this_quarter()
    errors = FormErrors()
    report = None
    if not QUARTER.match(chosen):
        errors.add("quarter", "Choose a quarter like 2026-Q3")
    else:
        try:
            report = await apis.ifr.get("/ifr/reports/quarterly", quarter=chosen)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem)
    return render(
        request,
        "ifr/quarterly.html",
        status_code=422 if errors else 200,
        title=f"IFR quarterly return {chosen}",
        quarter=chosen,
        quarters=recent_quarters(),
        report=report,
        measures=MEASURES,
        consistency_query=period_query(report["period_start"], report["period_end"]) if report else None,
        errors=errors or None,
    )


@router.get("/quarterly.{extension}")
async def quarterly_download(
    extension: str, session: CurrentSession, apis: UserApis, quarter: Annotated[str, Query(pattern=QUARTER.pattern)]
) -> Response:
    if extension not in ("csv", "json"):
        return Response(status_code=404)
    path = "/ifr/reports/quarterly.csv" if extension == "csv" else "/ifr/reports/quarterly"
    async with apis.ifr.stream(path, quarter=quarter) as upstream:
        content = await upstream.aread()
        media_type = upstream.headers.get("content-type", "application/octet-stream")
    filename = f"ifr-return-{quarter}.{extension}"
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
