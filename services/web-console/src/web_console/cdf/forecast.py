"""The CDF spend forecast for NHS England's CDF team and commissioning finance: the stored forecasts of
each trust and list entry for a financial year; one forecast's months (actual, active, pipeline, new
approvals) and its outturn with the P10-P90 band beside the run-rate's, as charts and as tables; and
the latest backtest's accuracy, model against run-rate WAPE by cut-off month."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from casework import clock
from casework.financial_year import financial_year_of
from web_console.apis import ApiProblem
from web_console.auth.sessions import Session
from web_console.cdf.charts import Outturn, Series, bar_chart, outturn_chart
from web_console.cdf.team import TEAM_ROLES
from web_console.deps import UserApis, role_session
from web_console.form_fields import Field, anchors
from web_console.forms import FormErrors
from web_console.pages import money, render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/cdf/forecasts")
BASE = "/cdf/forecasts"
FY = re.compile(r"\d{4}/\d{2}")
Readers = Annotated[
    Session,
    role_session(
        *TEAM_ROLES, "finance_lead", "contract_manager", who="NHS England's CDF team and commissioning finance"
    ),
]
FILTERS = (
    Field("fy", "Financial year", hint="For example, 2026/27", width="5"),
    Field("provider", "Trust ODS code", optional=True, width="5"),
    Field("entry_id", "National list entry", optional=True, width="20"),
)
MONTH_PARTS = (
    Series("Actual (SACT)", "solid"),
    Series("Active treatment", "hatch"),
    Series("Pipeline approvals", "dots"),
    Series("New approvals", "stripes"),
)
ACCURACY_SERIES = (Series("Model", "solid"), Series("Run-rate", "hatch"))


def _this_fy() -> str:
    return financial_year_of(clock.today()).financial_year


def _pounds(value: float) -> str:
    if value >= 1_000_000:
        return f"£{value / 1_000_000:.1f}m"
    return f"£{value / 1000:.0f}k" if value >= 10_000 else f"£{value:,.0f}"


@router.get("")
async def forecasts(
    request: Request,
    session: Readers,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    q = request.query_params
    filters: dict[str, Any] = {f.name: (q.get(f.name) or "").strip() or None for f in FILTERS}
    filters["fy"] = filters["fy"] or _this_fy()
    filters["provider"] = filters["provider"].upper() if filters["provider"] else None
    errors = FormErrors()
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if not FY.fullmatch(filters["fy"]):
        errors.add("fy", "Financial year: give it as 2026/27")
    else:
        page, errors = await filtered_page(apis.cdf, BASE, filters, FILTERS, cursor)
    return render(
        request,
        "cdf/forecasts.html",
        status_code=422 if errors else 200,
        title="CDF spend forecasts",
        page=page,
        filter_fields=FILTERS,
        shown={k: v or "" for k, v in filters.items()},
        errors=errors or None,
        shown_fields=anchors(FILTERS),
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def forecasts_csv(request: Request, session: Readers, apis: UserApis) -> Response:
    q = request.query_params
    fy = q.get("fy") if FY.fullmatch(q.get("fy") or "") else _this_fy()
    return await passed_through_csv(apis.cdf, f"{BASE}.csv", {"fy": fy, "provider": q.get("provider")})


# --- the backtest's accuracy (before the one forecast's path, which would take "accuracy" as a trust) --


def _accuracy_rows(months: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, m in months.items():
        model, run_rate = m.get("model_wape"), m.get("run_rate_wape")
        better = None if model is None or run_rate is None else "Model" if model < run_rate else "Run-rate"
        rows.append({"month": name, **m, "better": better})
    return rows


@router.get("/accuracy")
async def accuracy(request: Request, session: Readers, apis: UserApis) -> Response:
    try:
        run = await apis.cdf.get(f"{BASE}/accuracy")
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        run = None  # no backtest stored yet: the page says so
    rows = _accuracy_rows(run["months"]) if run else []
    chart = None
    if rows:
        values = [[(r.get(k) or 0.0) * 100 for r in rows] for k in ("model_wape", "run_rate_wape")]
        chart = bar_chart(
            "accuracy",
            "National WAPE of the spend forecast by cut-off month, model beside run-rate",
            "Lower is better. " + "; ".join(_accuracy_sentence(r) for r in rows),
            [r["month"] for r in rows],
            ACCURACY_SERIES,
            values,
            lambda v: f"{v:.0f}%" if v >= 10 or v == 0 else f"{v:.1f}%",
            stacked=False,
        )
    return render(request, "cdf/forecast_accuracy.html", title="CDF forecast accuracy", run=run, rows=rows, chart=chart)


def _accuracy_sentence(row: dict[str, Any]) -> str:
    model, run_rate = row.get("model_wape"), row.get("run_rate_wape")
    shown = [
        f"{name} {value * 100:.1f}%" for name, value in (("model", model), ("run-rate", run_rate)) if value is not None
    ]
    return f"{row['month']}: {', '.join(shown) or 'no figures'}"


# --- one trust and entry ------------------------------------------------------------------------------


@router.get("/{provider}/{entry_id}")
async def forecast_page(
    request: Request,
    provider: str,
    entry_id: str,
    session: Readers,
    apis: UserApis,
    fy: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    year = fy if fy and FY.fullmatch(fy) else _this_fy()
    found = await apis.cdf.get(BASE, provider=provider.upper(), entry_id=entry_id, fy=year, limit=1)
    if not found["items"]:
        raise ApiProblem(404, "Not Found", f"no stored forecast for {entry_id} at {provider.upper()} in {year}")
    forecast = found["items"][0]
    return render(
        request,
        "cdf/forecast.html",
        title=f"Spend forecast: {entry_id} at {forecast['provider_ods']}, {year}",
        forecast=forecast,
        months_chart=_months_chart(forecast),
        outturn_chart=_outturn_chart(forecast),
    )


def _months_chart(forecast: dict[str, Any]) -> Any:
    months = forecast["months"]
    parts = ("actual", "active", "pipeline", "new_approvals")
    values = [[float(Decimal(str(m.get(p) or 0))) for m in months] for p in parts]
    spent = sum(values[0])
    return bar_chart(
        "forecast-months",
        f"Spend by month in {forecast['financial_year']}: actual, then forecast by source",
        f"Actual spend from SACT so far {money(spent)}; the months after are forecast from active treatment, "
        "pipeline approvals not yet started and new approvals expected. The table below gives every figure.",
        [date.fromisoformat(f"{m['month']}-01").strftime("%b") for m in months],
        MONTH_PARTS,
        values,
        _pounds,
        stacked=True,
    )


def _outturn_chart(forecast: dict[str, Any]) -> Any:
    o = Outturn(
        *(float(Decimal(str(forecast[k]))) for k in ("outturn", "lower", "upper", "run_rate_outturn", "actual_to_date"))
    )
    return outturn_chart(
        "forecast-outturn",
        f"Outturn for {forecast['financial_year']}: the forecast and its P10 to P90 band beside the run-rate",
        f"Spent so far {money(o.actual_to_date)}. Forecast outturn {money(o.forecast)}, P10 {money(o.lower)} to "
        f"P90 {money(o.upper)}. The run-rate's outturn is {money(o.run_rate)}.",
        o,
        _pounds,
    )
