"""Notification delivery events (topic `notification.events`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from casework.events.registry import registry


class NotificationOutcome(BaseModel):
    notification_id: UUID
    source_event_id: UUID
    source_event_type: str
    template: str
    recipient: str
    message_id: str
    case_reference: str | None
    attempts: int


@registry.register("notification.sent")
class NotificationSent(NotificationOutcome):
    """The relay accepted the message."""

    sent_at: datetime


@registry.register("notification.failed")
class NotificationFailed(NotificationOutcome):
    """The relay refused the message permanently, or retries ran out."""

    error: str
