"""A provider's forecast outturn against budget for a year: the lines (at-risk ones highlighted), the
monthly series as the API's chart and as a table, for all lines and each line, and the at-risk alerts
with when they were raised. Commissioners choose the provider; a trust's finance user sees their own
(another trust's answers 404, as the API does). Mails about an at-risk budget link here
(`/forecast-outturn?provider=…&fy=…`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CurrentSession, UserApis
from web_console.finance.figures import alert_shown, chart_text, months_of, query, this_year, variance_text
from web_console.form_fields import Field, labels_of
from web_console.forms import FormErrors
from web_console.pages import money, render
from web_console.paging import passed_through_csv

router = APIRouter(prefix="/forecast-outturn")
CHOOSE = (
    Field("provider", "Trust ODS code", hint="For example, RRV", width="5"),
    Field("fy", "Financial year", hint="For example, 2026/27", width="10"),
)
Provider = Annotated[str | None, Query(max_length=5)]
Year = Annotated[str | None, Query(max_length=7)]


def _chosen(session: CurrentSession, provider: str | None, fy: str | None) -> dict[str, str]:
    """A trust's user is always shown their own trust, so their choice is only the year."""
    own = None if session.user.is_commissioner else session.user.org[:3]
    return {"provider": (provider or own or "").strip().upper(), "fy": (fy or "").strip() or this_year()}


def _line(line: dict[str, Any], chosen: dict[str, str]) -> dict[str, Any]:
    return line | {
        "variance_text": variance_text(line["variance"], line["variance_pct"]),
        "months_shown": months_of([line]),
        "chart_query": query(**chosen, line=line["budget_line_id"]),
        "chart_text": chart_text(line["line_name"], line["budget"], line["forecast_outturn"], line["variance"]),
    }


def _totals(outturn: dict[str, Any]) -> list[tuple[str, str]]:
    totals = outturn["totals"]
    at_risk = sum(1 for line in outturn["lines"] if line["at_risk"])
    return [
        ("Budget", money(totals["budget"])),
        ("Actual to date", money(totals["actual_to_date"])),
        ("Forecast outturn", money(totals["forecast_outturn"])),
        ("Variance", variance_text(totals["variance"])),
        ("Lines at risk", f"{at_risk} of {len(outturn['lines'])}"),
        ("At risk when the forecast outturn is over budget by more than", f"{outturn['margin_pct']}%"),
    ]


async def _dashboard(apis: Apis, chosen: dict[str, str]) -> dict[str, Any]:
    outturn = await apis.contract.get("/forecast-outturn", **chosen)  # first: its 404 / 422 is the page's
    alerts = await apis.contract.get("/forecast-outturn/alerts", **chosen, limit=100)
    shown = {"provider": outturn["provider_ods"], "fy": outturn["financial_year"]}
    totals = outturn["totals"]
    return {
        "outturn": outturn,
        "totals": _totals(outturn),
        "lines": [_line(line, shown) for line in outturn["lines"]],
        "months": months_of(outturn["lines"]),
        "chart_query": query(**shown),
        "chart_text": chart_text("all budget lines", totals["budget"], totals["forecast_outturn"], totals["variance"]),
        "alerts": [alert_shown(a) for a in alerts["items"]],
        "more_alerts": bool(alerts.get("next_cursor")),
        "unallocated": {k: money(v) for k, v in outturn["unallocated"].items() if float(v)},
    }


@router.get("")
async def forecast_outturn(
    request: Request, session: CurrentSession, apis: UserApis, provider: Provider = None, fy: Year = None
) -> Response:
    chosen = _chosen(session, provider, fy)
    errors, shown = FormErrors(), None
    if chosen["provider"]:
        try:
            shown = await _dashboard(apis, chosen)
        except ApiProblem as problem:
            if problem.status != 422:
                raise  # another trust's figures: the API's 404 is the page's
            errors = FormErrors.from_problem(problem, labels_of(CHOOSE))
    return render(
        request,
        "finance/outturn.html",
        status_code=422 if errors else 200,
        title="Forecast outturn against budget",
        choose=CHOOSE if session.user.is_commissioner else CHOOSE[1:],
        chosen=chosen,
        csv_query=query(**chosen),
        errors=errors or None,
        **(shown or {}),
    )


@router.get(".csv")
async def lines_csv(session: CurrentSession, apis: UserApis, provider: Provider = None, fy: Year = None) -> Response:
    return await passed_through_csv(apis.contract, "/forecast-outturn.csv", _chosen(session, provider, fy))


@router.get("/months.csv")
async def months_csv(
    session: CurrentSession, apis: UserApis, provider: Provider = None, fy: Year = None, line: uuid.UUID | None = None
) -> Response:
    params = _chosen(session, provider, fy) | {"line": str(line) if line else None}
    return await passed_through_csv(apis.contract, "/forecast-outturn/months.csv", params)


@router.get("/alerts.csv")
async def alerts_csv(
    session: CurrentSession,
    apis: UserApis,
    provider: Provider = None,
    fy: Year = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> Response:
    """Without a provider, a commissioner gets every provider's (the national page's link)."""
    params = _chosen(session, provider, fy) | {"open": "true" if open_only else None}
    return await passed_through_csv(apis.contract, "/forecast-outturn/alerts.csv", params)


@router.get("/chart.svg")
async def chart(
    session: CurrentSession, apis: UserApis, provider: Provider = None, fy: Year = None, line: uuid.UUID | None = None
) -> Response:
    """The API's chart, drawn as the page's image (the browser holds no token for the API)."""
    params = _chosen(session, provider, fy) | {"line": str(line) if line else None}
    async with apis.contract.stream("/forecast-outturn/chart.svg", **params) as upstream:
        body = await upstream.aread()
    return Response(body, media_type="image/svg+xml")
