"""The national summary of forecast outturn for commissioners: every provider with a contract in the
year, the largest overspend first (as the API sorts it), with the alerts still open across them. A
trust's user gets the API's 403: other trusts' money is not theirs to see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.apis import ApiProblem
from web_console.deps import CurrentSession, UserApis
from web_console.finance.figures import alert_shown, query, this_year, variance_text
from web_console.form_fields import Field, labels_of
from web_console.forms import FormErrors
from web_console.pages import money, render
from web_console.paging import passed_through_csv

router = APIRouter(prefix="/forecast-outturn/national")
CHOOSE = (Field("fy", "Financial year", hint="For example, 2026/27", width="10"),)
Year = Annotated[str | None, Query(max_length=7)]


def _provider(row: dict[str, Any], fy: str) -> dict[str, Any]:
    return row | {
        "budget_text": money(row["budget"]),
        "actual_text": money(row["actual_to_date"]),
        "outturn_text": money(row["forecast_outturn"]),
        "variance_text": variance_text(row["variance"], row["variance_pct"]),
        "query": query(provider=row["provider_ods"], fy=fy),
    }


def _totals(totals: dict[str, Any]) -> dict[str, str]:
    return {k: money(v) for k, v in totals.items()} | {"variance_text": variance_text(totals["variance"])}


@router.get("")
async def national(request: Request, session: CurrentSession, apis: UserApis, fy: Year = None) -> Response:
    year = (fy or "").strip() or this_year()
    errors, summary, alerts = FormErrors(), None, None
    try:
        summary = await apis.contract.get("/forecast-outturn/national", fy=year)  # a trust's user: 403
        alerts = await apis.contract.get("/forecast-outturn/alerts", fy=year, open="true", limit=100)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        errors = FormErrors.from_problem(problem, labels_of(CHOOSE))
    return render(
        request,
        "finance/national.html",
        status_code=422 if errors else 200,
        title="National forecast outturn",
        choose=CHOOSE,
        chosen={"fy": year},
        csv_query=query(fy=year),
        providers=[_provider(p, year) for p in summary["providers"]] if summary else None,
        totals=_totals(summary["totals"]) if summary else None,
        alerts=[alert_shown(a) for a in alerts["items"]] if alerts else [],
        more_alerts=bool(alerts and alerts.get("next_cursor")),
        errors=errors or None,
    )


@router.get(".csv")
async def national_csv(session: CurrentSession, apis: UserApis, fy: Year = None) -> Response:
    return await passed_through_csv(apis.contract, "/forecast-outturn/national.csv", {"fy": fy or this_year()})
