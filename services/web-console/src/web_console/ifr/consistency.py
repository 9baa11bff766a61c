"""IFR decision consistency for commissioners: the period's requests by region and panel, per treatment
and overall, the approval rates with their intervals as a chart and as tables, and the regions or panels
flagged as differing beyond chance, with the counts behind each flag; the API's CSV and JSON."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from casework import clock
from web_console.apis import ApiProblem
from web_console.cdf.charts import IntervalRow, interval_chart
from web_console.deps import CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.pages import render

router = APIRouter(prefix="/ifr/reports")
API = "/ifr/reports/consistency"
PERIOD = (
    Field("start", "Received from", "date", hint="For example, 1 4 2026. Left empty: a year before the end."),
    Field("end", "Received up to", "date", hint="For example, 31 3 2027. Left empty: today."),
)


def _period(request: Request) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    return read(request.query_params, PERIOD)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def figures(row: dict[str, Any]) -> str:
    """'1 of 10 approved, 10% (2% to 40%)': the chart's words for one row."""
    interval = row.get("approval_interval") or {}
    return (
        f"{row['approved']} of {row['decided']} approved, {percent(row['approval_rate'])} "
        f"({percent(interval.get('low'))} to {percent(interval.get('high'))})"
    )


def treatment_chart(treatment: dict[str, Any]) -> Any:
    """The treatment's approval rate by region, with the intervals and the flags; None when no region
    decided any of its requests."""
    rows = [r for r in treatment["by_region"] if r["decided"] and r["group"] is not None]
    if not rows:
        return None
    name = treatment["treatment_name"]
    flagged = [r["name"] for r in rows if r["flagged"]]
    description = "; ".join(f"{r['name']}: {figures(r)}" for r in rows) + (
        f". Flagged: {', '.join(flagged)}." if flagged else ". No region flagged."
    )
    return interval_chart(
        f"rate-{treatment['treatment']}".replace(":", "-"),
        f"Approval rate for {name} by region, with 95% intervals",
        description,
        [
            IntervalRow(
                r["name"],
                r["approval_rate"],
                r["approval_interval"]["low"],
                r["approval_interval"]["high"],
                figures(r),
                r["flagged"],
            )
            for r in rows
        ],
        treatment["overall"]["approval_rate"],
    )


@router.get("/consistency")
async def consistency(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    period, shown, errors = _period(request)
    report = None
    if not errors:
        try:
            report = await apis.ifr.get(API, **period)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem, labels_of(PERIOD))
    charts = {t["treatment"]: treatment_chart(t) for t in report["treatments"]} if report else {}
    return render(
        request,
        "ifr/consistency.html",
        status_code=422 if errors else 200,
        title="IFR decision consistency",
        report=report,
        charts=charts,
        period_fields=PERIOD,
        shown=shown,
        query=request.url.query,
        errors=errors or None,
        shown_fields=anchors(PERIOD),
        percent=percent,
    )


@router.get("/consistency.{extension}")
async def consistency_download(extension: str, request: Request, session: CurrentSession, apis: UserApis) -> Response:
    if extension not in ("csv", "json"):
        return Response(status_code=404)
    period, _, errors = _period(request)
    path = f"{API}.csv" if extension == "csv" else API  # the API's JSON, or its CSV at the path with .csv
    async with apis.ifr.stream(path, **({} if errors else period)) as upstream:
        content = await upstream.aread()
        media_type = upstream.headers.get("content-type", "application/octet-stream")
    filename = f"ifr-consistency-{period.get('start', 'year')}-{period.get('end', clock.today().isoformat())}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{extension}"'},
    )


def period_query(start: str, end: str) -> str:
    """This page's query for the days `start` to `end` (ISO dates): the quarterly return links here."""
    parts: dict[str, int] = {}
    for name, value in (("start", start), ("end", end)):
        day = date.fromisoformat(value)
        parts |= {f"{name}[day]": day.day, f"{name}[month]": day.month, f"{name}[year]": day.year}
    return urlencode(parts)
