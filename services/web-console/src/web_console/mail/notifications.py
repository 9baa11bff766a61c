"""Notifications for the mail desk: search by case reference, recipient and status, each with its
attempts and last error; one notification with what was sent; a failed one sent again.

The resend button posts the version the page was read at (If-Match), so a second click, or a
notification resent by someone else meanwhile, changes nothing and says so: it is sent once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, UserApis
from web_console.form_fields import Field, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.mail.access import MailOperator
from web_console.pages import long_date, render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/mail/notifications")
BASE = "/mail/notifications"
STATUSES = ("queued", "sending", "sent", "failed")
FILTER_FIELDS = (
    Field("case_reference", "Case reference", optional=True, width="20", hint="For example, IFR-2026-000456"),
    Field("recipient", "Recipient's email address", "email", optional=True, width="30"),
    Field("status", "Status", "radios", options=(("", "Any status"), *((s, label(s)) for s in STATUSES))),
)
RESEND_FIELDS = (Field("reason", "Why it is sent again", "textarea", optional=True, hint="Kept in the audit trail"),)
STALE = (
    "This notification changed since you opened it (it may already have been sent again). "
    "Check it below before sending it again."
)


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    status = q.get("status") or ""
    return {
        "case_reference": (q.get("case_reference") or "").strip() or None,
        "recipient": (q.get("recipient") or "").strip() or None,
        "status": status if status in STATUSES else None,
    }


@router.get("")
async def notifications(
    request: Request,
    operator: MailOperator,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = _filters(request)
    page, errors = await filtered_page(apis.notification, "/notifications", filters, FILTER_FIELDS, cursor)
    return render(
        request,
        "mail/notifications.html",
        status_code=422 if errors else 200,
        title="Notifications",
        page=page,
        shown={**filters, "status": filters["status"] or ""},
        filter_fields=FILTER_FIELDS,
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def notifications_csv(request: Request, operator: MailOperator, apis: UserApis) -> Response:
    return await passed_through_csv(apis.notification, "/notifications.csv", _filters(request))


def _rows(n: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Recipient", n["recipient"] + (f" ({label(n['recipient_role'])})" if n["recipient_role"] else "")),
        ("Subject", n["subject"]),
        ("Case reference", n["case_reference"] or "None"),
        ("Trust", n["provider_ods"] or "None"),
        ("Template", f"{n['template']} (version {n['template_version']})"),
        ("Caused by", n["source_event_type"]),
        ("Attempts", str(n["attempts"])),
        ("Last error", n["last_error"] or "None"),
        ("Queued", long_date(n["created_at"])),
        ("Message-ID", n["message_id"]),
    ]
    if n["sent_at"]:
        rows.append(("Sent", long_date(n["sent_at"])))
    elif n["status"] in ("queued", "sending"):
        rows.append(("Next attempt", long_date(n["next_attempt_at"])))
    return rows


async def _render(
    request: Request,
    apis: Apis,
    notification_id: uuid.UUID,
    *,
    done: bool = False,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    notification = await apis.notification.get(f"/notifications/{notification_id}")
    return render(
        request,
        "mail/notification.html",
        status_code=status_code,
        title=f"Notification to {notification['recipient']}",
        notification=notification,
        rows=_rows(notification),
        resend_fields=RESEND_FIELDS,
        values=values or {},
        errors=errors,
        done=done,
    )


@router.get("/{notification_id}")
async def notification_page(
    request: Request, notification_id: uuid.UUID, operator: MailOperator, apis: UserApis, done: str | None = None
) -> Response:
    return await _render(request, apis, notification_id, done=done == "resend")


@router.post("/{notification_id}/resend")
async def resend(
    request: Request, notification_id: uuid.UUID, operator: MailOperator, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, RESEND_FIELDS)
    if errors:
        return await _render(request, apis, notification_id, errors=errors, values=shown, status_code=422)
    try:
        version = str(form.get("version", ""))
        await apis.notification.post(f"/notifications/{notification_id}/resend", body, if_match=f'W/"{version}"')
    except ApiProblem as problem:
        if problem.status not in (409, 412, 422, 428):
            raise
        return await _render(
            request, apis, notification_id, errors=_problem(problem), values=shown, status_code=problem.status
        )
    return RedirectResponse(f"{BASE}/{notification_id}?done=resend", status_code=303)


def _problem(problem: ApiProblem) -> FormErrors:
    errors = FormErrors()
    if problem.status in (412, 428):
        errors.general.append(STALE)
    elif problem.status == 409:
        errors.general.append(f"It cannot be sent again now: {problem.detail}")
    else:
        errors = FormErrors.from_problem(problem, labels_of(RESEND_FIELDS))
    return errors
