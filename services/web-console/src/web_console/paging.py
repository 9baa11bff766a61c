"""Paging and downloads a list page shares: the query string with and without the API's cursor, and a
CSV the API writes, passed through to the browser."""

from __future__ import annotations

import re
from typing import Any, TypedDict

from fastapi.responses import StreamingResponse

from web_console.apis import ApiProblem, ServiceApi
from web_console.form_fields import Field, labels_of
from web_console.forms import FormErrors

_CURSOR = re.compile(r"(^|&)cursor=[^&]*")


def without_cursor(query: str) -> str:
    return _CURSOR.sub("", query).strip("&")


def with_cursor(query: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    rest = without_cursor(query)
    return f"{rest}&cursor={cursor}" if rest else f"cursor={cursor}"


async def filtered_page(
    api: ServiceApi, path: str, filters: dict[str, Any], fields: tuple[Field, ...], cursor: str | None
) -> tuple[dict[str, Any], FormErrors]:
    """A page of a list with the user's filters; a filter the API refuses (422) is shown at its field."""
    try:
        return await api.get(path, **filters, limit=50, cursor=cursor), FormErrors()
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return {"items": [], "next_cursor": None}, FormErrors.from_problem(problem, labels_of(fields))


class ListLinks(TypedDict):
    csv_query: str
    next_query: str | None
    first_query: str | None


def list_links(query: str, next_cursor: str | None, cursor: str | None) -> ListLinks:
    """A list page's links: the CSV of the same filters, the next page, and the first (on a later page)."""
    return ListLinks(
        csv_query=without_cursor(query),
        next_query=with_cursor(query, next_cursor),
        first_query=without_cursor(query) if cursor else None,
    )


async def passed_through_csv(api: ServiceApi, path: str, params: dict[str, Any]) -> StreamingResponse:
    """The API's CSV export as the browser's download (bounded by the records one user may see)."""
    async with api.stream(path, **params) as upstream:
        body = await upstream.aread()
        headers = {"Content-Disposition": upstream.headers.get("content-disposition", "attachment")}
        media_type = upstream.headers.get("content-type", "text/csv")
    return StreamingResponse(iter([body]), media_type=media_type, headers=headers)
