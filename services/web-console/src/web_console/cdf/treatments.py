"""Treatments SACT showed starting under an approval: first administration, cycles (of them dispensed),
cost to date, and the stop date with every reason; filtered by running or stopped and by entry, and
downloaded as a CSV of the same filters (no patient identifiers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.deps import CurrentSession, UserApis
from web_console.form_fields import Field
from web_console.pages import render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/cdf/treatments")
RUNNING = {"true": "On treatment", "false": "Stopped"}
FILTERS = (
    Field("running", "Treatment", "radios", options=(("", "Any"), *RUNNING.items())),
    Field("entry_id", "National list entry", optional=True, width="20"),
    Field("provider", "Trust ODS code", optional=True, width="5"),
)


@router.get("")
async def treatments(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = _filters(request)
    page, errors = await filtered_page(apis.cdf, "/cdf/treatments", filters, FILTERS, cursor)
    return render(
        request,
        "cdf/treatments.html",
        status_code=422 if errors else 200,
        title="CDF treatments",
        page=page,
        filter_fields=FILTERS,
        shown={k: v or "" for k, v in filters.items()},
        filtered=any(filters.values()),
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def treatments_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.cdf, "/cdf/treatments.csv", _filters(request))


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    filters = {f.name: (q.get(f.name) or "").strip() or None for f in FILTERS}
    if filters["running"] not in (None, *RUNNING):
        filters["running"] = None
    return filters
