"""Inbound mail for the mail desk: what the gateway accepted (with the problems it found in the
application and the IFR case the mail opened) and what it refused, with the reason it gave the sender.

Each list pages on its own cursor. The case opened comes from ifr-service; when it does not answer
the mail is still listed, with the case shown as not known.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.apis import Apis, ServiceUnavailable
from web_console.deps import UserApis
from web_console.form_fields import Field
from web_console.mail.access import MailOperator
from web_console.pages import render
from web_console.paging import filtered_page

router = APIRouter(prefix="/mail/inbound")
FILTER_FIELDS = (Field("sender", "Sender's email address", "email", optional=True, width="30"),)
CURSORS = ("cursor", "refused_cursor")


def _query_with(request: Request, name: str, cursor: str | None) -> str | None:
    """This page's query with one list's cursor set (the other list stays where it is)."""
    if not cursor:
        return None
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != name]
    return urlencode([*rest, (name, cursor)])


def _first_pages(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in CURSORS])


async def _cases_opened(apis: Apis, accepted: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The IFR case each accepted mail opened, by inbound id; None when ifr-service cannot say."""
    if not accepted:
        return {}
    try:
        opened = await apis.ifr.get("/ifr/mail-intake", inbound_id=[m["inbound_id"] for m in accepted])
    except ServiceUnavailable:
        return None
    return {c["inbound_id"]: c for c in opened}


@router.get("")
async def inbound_mail(
    request: Request,
    operator: MailOperator,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    refused_cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = {"sender": (request.query_params.get("sender") or "").strip().lower() or None}
    accepted, errors = await filtered_page(apis.notification, "/inbound-mail", filters, FILTER_FIELDS, cursor)
    refused, refused_errors = await filtered_page(
        apis.notification, "/inbound-mail/refused", filters, FILTER_FIELDS, refused_cursor
    )
    errors.merge(refused_errors)
    return render(
        request,
        "mail/inbound.html",
        status_code=422 if errors else 200,
        title="Inbound mail",
        accepted=accepted,
        refused=refused,
        cases=await _cases_opened(apis, accepted["items"]),
        filter_fields=FILTER_FIELDS,
        shown={"sender": filters["sender"] or ""},
        errors=errors or None,
        accepted_next=_query_with(request, "cursor", accepted.get("next_cursor")),
        refused_next=_query_with(request, "refused_cursor", refused.get("next_cursor")),
        paged=bool(cursor or refused_cursor),
        first_query=_first_pages(request),
    )
