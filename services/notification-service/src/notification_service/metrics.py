"""Prometheus metrics of mail sending and receiving (served on the service's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select

from notification_service.db.models import Notification
from notification_service.runtime import NotificationRuntime

SEND_OUTCOMES = Counter(
    "notification_send_outcomes_total",
    "Replies and faults per attempt: delivered, retry (4xx), permanent (5xx), relay_unavailable",
    ["verdict"],
)
RELAY_AVAILABLE = Gauge("notification_relay_available", "1 while the sender can reach the relay, 0 while paused")
INBOUND_MAIL = Counter("notification_inbound_mail_total", "Received messages by gateway outcome", ["outcome"])
QUEUED_MAIL_AGE = Gauge(
    "notification_oldest_queued_mail_age_seconds",
    "Age of the oldest mail not sent yet (queued, being sent or waiting to retry); 0 when none waits",
)

_OLDEST_QUEUED = select(func.extract("epoch", func.clock_timestamp() - func.min(Notification.created_at))).where(
    Notification.status.in_(("queued", "sending"))
)


async def refresh_queued_mail_age(runtime: NotificationRuntime) -> None:
    """At each scrape: one aggregate over the unsent rows (the sender's partial index holds only those)."""
    async with runtime.sessions() as session:
        age = await session.scalar(_OLDEST_QUEUED)
    QUEUED_MAIL_AGE.set(float(age or 0))
