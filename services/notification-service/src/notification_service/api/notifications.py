"""Notifications: search by case, recipient, status, template and cause; one notification; resend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Select, func, select
from starlette.responses import StreamingResponse

from casework.auth import Principal, require_roles
from casework.concurrency import IfMatch, require_version, set_etag, stale_to_412
from casework.csv_export import csv_response
from casework.pagination import Page, paginate
from casework.problems import NotFound
from notification_service.access import PROVIDER_ROLES, RESEND_ROLES, STAFF_ROLES
from notification_service.api.schemas import (
    NotificationDetail,
    NotificationOut,
    ResendRequest,
)
from notification_service.db.models import Notification
from notification_service.domain.delivery import DeliveryAction, NotificationStatus, next_status
from notification_service.runtime import Uow

router = APIRouter(prefix="/notifications", tags=["notifications"])
Reader = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, *PROVIDER_ROLES))]
CSV_LIMIT = 50_000


class Filters:
    """The list's filters (all optional, combined with AND)."""

    def __init__(
        self,
        case_reference: Annotated[str | None, Query(max_length=200)] = None,
        recipient: Annotated[str | None, Query(max_length=254, description="exact address, any case")] = None,
        status: NotificationStatus | None = None,
        template: Annotated[str | None, Query(max_length=120)] = None,
        source_event_type: Annotated[str | None, Query(max_length=120)] = None,
        provider_ods: Annotated[str | None, Query(max_length=10)] = None,
    ) -> None:
        self.values = {
            "case_reference": case_reference,
            "recipient": recipient,
            "status": status.value if status else None,
            "template": template,
            "source_event_type": source_event_type,
            "provider_ods": provider_ods.upper() if provider_ods else None,
        }

    def query(self, principal: Principal) -> Select[Any]:
        query = select(Notification)
        for name, value in self.values.items():
            if value is None:
                continue
            column = getattr(Notification, name)
            query = query.where(func.lower(column) == value.lower() if name == "recipient" else column == value)
        org = principal.org_filter()
        if org is not None:  # a trust user: its own organisation's cases (sites included) only
            query = query.where(Notification.provider_ods.startswith(org, autoescape=True))
        return query

    def audit_detail(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if v is not None}


@router.get("", response_model=Page[NotificationOut])
async def list_notifications(
    uow: Uow,
    principal: Reader,
    filters: Annotated[Filters, Depends()],
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[NotificationOut]:
    keys = (Notification.created_at, Notification.id)
    rows, next_cursor = await paginate(uow.session, filters.query(principal), keys, cursor, limit)
    detail = {"filters": filters.audit_detail(), "ids": [str(r.id) for r in rows]}
    uow.audit(principal, "list", "notification", "*", detail=detail)
    await uow.commit()
    return Page(items=[NotificationOut.model_validate(r) for r in rows], next_cursor=next_cursor)


CSV_COLUMNS = [
    "id",
    "created_at",
    "case_reference",
    "provider_ods",
    "source_event_type",
    "template",
    "recipient",
    "subject",
    "status",
    "attempts",
    "last_error",
    "sent_at",
]


@router.get(".csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
async def export_notifications(uow: Uow, principal: Reader, filters: Annotated[Filters, Depends()]) -> Response:
    """The same filters as the list, as a spreadsheet (oldest first, at most 50,000 rows)."""
    query = filters.query(principal).order_by(Notification.created_at, Notification.id).limit(CSV_LIMIT)
    rows = (await uow.session.scalars(query)).all()
    uow.audit(principal, "export", "notification", "*", detail={"filters": filters.audit_detail(), "rows": len(rows)})
    await uow.commit()

    async def lines() -> AsyncIterator[dict[str, Any]]:
        for row in rows:
            yield {c: getattr(row, c) for c in CSV_COLUMNS}

    return csv_response(CSV_COLUMNS, lines(), "notifications.csv")


async def _visible(uow: Uow, principal: Principal, notification_id: uuid.UUID, lock: bool = False) -> Notification:
    notification = await uow.session.get(Notification, notification_id, with_for_update=lock)
    # Another organisation's notification answers 404, like one that does not exist.
    if notification is None or not _may_see(principal, notification):
        raise NotFound(f"notification {notification_id} not found")
    return notification


def _may_see(principal: Principal, notification: Notification) -> bool:
    if principal.org_filter() is None:
        return True
    return notification.provider_ods is not None and principal.can_see(notification.provider_ods)


@router.get("/{notification_id}", response_model=NotificationDetail)
async def get_notification(
    notification_id: uuid.UUID, uow: Uow, principal: Reader, response: Response
) -> NotificationDetail:
    notification = await _visible(uow, principal, notification_id)
    uow.audit(principal, "read", "notification", notification_id)
    await uow.commit()
    set_etag(response, notification.version)
    return NotificationDetail.model_validate(notification)


@router.post("/{notification_id}/resend", response_model=NotificationDetail)
async def resend_notification(
    notification_id: uuid.UUID,
    uow: Uow,
    response: Response,
    principal: Annotated[Principal, Depends(require_roles(*RESEND_ROLES))],
    if_match: IfMatch = None,
    body: ResendRequest | None = None,
) -> NotificationDetail:
    """Put a failed notification back in the queue (same Message-ID); needs `If-Match` with its ETag."""
    notification = await _visible(uow, principal, notification_id, lock=True)
    require_version(if_match, notification.version)
    notification.status = next_status(notification.status, DeliveryAction.resend).value
    # A resend is a fresh set of attempts; the audit trail keeps the history.
    notification.attempts = 0
    notification.next_attempt_at = notification.updated_at = datetime.now(UTC)
    uow.audit(principal, "resend", "notification", notification_id, reason=body.reason if body else None)
    async with stale_to_412():
        await uow.commit()
    set_etag(response, notification.version)
    return NotificationDetail.model_validate(notification)
