"""Notifications: status per message."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from casework.auth import Role, require_roles
from casework.deps import Uow
from notification_service.db.models import Notification

router = APIRouter(
    prefix="/notifications",
    tags=["notifications"],
    dependencies=[Depends(require_roles(Role.IFR_OFFICER, Role.CDF_MANAGER, Role.CONTRACT_MANAGER, Role.SERVICE))],
)


class NotificationOut(BaseModel):
    id: uuid.UUID
    template: str
    recipient: str
    case_reference: str | None
    subject: str
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("", response_model=list[NotificationOut])
async def list_notifications(
    uow: Uow, case_reference: str | None = None, status: str | None = None
) -> list[NotificationOut]:
    query = select(Notification).order_by(Notification.created_at).limit(500)
    if case_reference:
        query = query.where(Notification.case_reference == case_reference)
    if status:
        query = query.where(Notification.status == status)
    rows = (await uow.session.scalars(query)).all()
    return [NotificationOut.model_validate(r, from_attributes=True) for r in rows]
