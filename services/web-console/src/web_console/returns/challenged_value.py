"""The challenged-value report: per trust and month, then the trust's year, what validation queries
challenged, what is still open, what was not funded and what was funded on resolution; with its CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from casework import clock
from casework.financial_year import financial_year_of
from web_console.apis import ApiProblem
from web_console.auth.sessions import SignedInUser
from web_console.deps import CurrentSession, UserApis
from web_console.form_fields import Field, labels_of
from web_console.forms import FormErrors
from web_console.pages import render
from web_console.paging import passed_through_csv

router = APIRouter(prefix="/reports/challenged-value")
FY = Field("fy", "Financial year", hint="For example 2026/27", width="10")
TRUST = Field("provider", "Trust ODS code", optional=True, width="5")


def _fields(user: SignedInUser) -> tuple[Field, ...]:
    return (FY, TRUST) if user.is_commissioner else (FY,)


def _chosen(request: Request, user: SignedInUser) -> dict[str, Any]:
    q = request.query_params
    chosen: dict[str, Any] = {f.name: (q.get(f.name) or "").strip() or None for f in _fields(user)}
    chosen["fy"] = chosen["fy"] or financial_year_of(clock.today()).financial_year  # this year unless asked
    if chosen.get("provider"):
        chosen["provider"] = chosen["provider"].upper()
    return chosen


@router.get("")
async def report(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    fields, chosen = _fields(session.user), _chosen(request, session.user)
    errors, rows = FormErrors(), []
    try:
        rows = await apis.contract.get("/reports/challenged-value", **chosen)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        errors = FormErrors.from_problem(problem, labels_of(fields))
    query = urlencode({k: v for k, v in chosen.items() if v})
    return render(
        request,
        "returns/challenged_value.html",
        status_code=422 if errors else 200,
        title="Challenged value of drug expenditure",
        rows=rows,
        shown=chosen,
        filter_fields=fields,
        csv_query=query,
        errors=errors or None,
    )


@router.get(".csv")
async def report_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.contract, "/reports/challenged-value.csv", _chosen(request, session.user))
