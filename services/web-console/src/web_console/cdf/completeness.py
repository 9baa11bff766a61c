"""SACT completeness by month: per trust, the approvals active in the month that SACT showed activity
for, against the national expectation (90%); the last six months up to the month chosen, as a table of
trusts by month (the CDF team sees every trust; a trust's users their own) and month by month."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from casework import clock
from web_console.apis import ApiProblem
from web_console.deps import CurrentSession, UserApis
from web_console.form_fields import Field
from web_console.forms import FormErrors
from web_console.pages import render
from web_console.periods import counted_back

router = APIRouter(prefix="/cdf/completeness")
MONTHS = 6
FIELDS = (
    Field("month", "Up to the month", hint="As year and month, for example 2026-11", width="10"),
    Field("provider", "Trust ODS code", optional=True, width="5"),
)


def by_trust(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The rows as trust -> month -> figures, trusts in code order."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["provider_ods"]):
        table.setdefault(row["provider_ods"], {})[row["month"]] = row
    return table


def months_to(last: str, count: int = MONTHS) -> list[str]:
    """`count` months ending with `last` (YYYY-MM), newest first."""
    return [f"{year:04d}-{month:02d}" for year, month in counted_back(int(last[:4]), int(last[5:7]), 12, count)]


@router.get("")
async def completeness(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    month: Annotated[str | None, Query(max_length=7)] = None,
    provider: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    chosen = (month or "").strip() or clock.today().strftime("%Y-%m")
    trust = (provider or "").strip().upper() or None
    errors = FormErrors()
    rows: list[dict[str, object]] = []
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", chosen):
        errors.add("month", "Up to the month: give a year and month, like 2026-11")
    else:
        try:
            answers = await asyncio.gather(
                *(apis.cdf.get("/cdf/reports/sact-completeness", month=m, provider=trust) for m in months_to(chosen))
            )
            rows = [row for answer in answers for row in answer]
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem)
    return render(
        request,
        "cdf/completeness.html",
        status_code=422 if errors else 200,
        title="SACT completeness",
        fields=FIELDS,
        shown={"month": chosen, "provider": trust or ""},
        rows=rows,
        months=months_to(chosen) if rows else [],
        trusts=by_trust(rows),
        errors=errors or None,
    )
