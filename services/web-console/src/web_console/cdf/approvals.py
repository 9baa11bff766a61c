"""CDF approvals across trusts, for NHS England's CDF team: every trust's prior-approval applications with
filters (trust, list entry, status, planned start between two days), cursor paging and the same as CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.cdf.applications import LIST_FILTERS
from web_console.cdf.team import CdfTeam
from web_console.deps import UserApis
from web_console.form_fields import Field, anchors, read
from web_console.pages import render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/cdf/approvals")
FILTERS = (
    Field("provider", "Trust ODS code", optional=True, width="5"),
    Field("entry_id", "National list entry", optional=True, width="20"),
    LIST_FILTERS[0],  # the status, as the applications list offers it
    Field("planned_from", "Planned start from", "date", optional=True),
    Field("planned_to", "Planned start to", "date", optional=True),
)


def _filters(request: Request) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(the API's filters, the values to show again, the console's problems: a date that is not one)."""
    body, shown, errors = read(request.query_params, FILTERS)
    if body.get("provider"):
        body["provider"] = str(body["provider"]).upper()
    return body, shown, errors


@router.get("")
async def approvals(
    request: Request,
    session: CdfTeam,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters, shown, errors = _filters(request)
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if not errors:
        page, errors = await filtered_page(apis.cdf, "/cdf/applications", filters, FILTERS, cursor)
    return render(
        request,
        "cdf/approvals.html",
        status_code=422 if errors else 200,
        title="CDF approvals across trusts",
        page=page,
        shown=shown,
        filter_fields=FILTERS,
        filtered=bool(filters),
        errors=errors or None,
        shown_fields=anchors(FILTERS),
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def approvals_csv(request: Request, session: CdfTeam, apis: UserApis) -> Response:
    filters, _, errors = _filters(request)
    return await passed_through_csv(apis.cdf, "/cdf/applications.csv", {} if errors else filters)
