"""What the notification integration tests share: fast sender settings, events, relay and queue reads."""

from __future__ import annotations

import email
import ssl
import uuid
from collections import Counter
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, select

from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import RunningService, TestStack, envelope_for, publish
from notification_service.db.models import Notification

# Seconds, not minutes: the tests wait for retries and relay probes.
FAST = {
    "send_poll_interval_s": 0.05,
    "send_retry_base_s": 0.05,
    "send_retry_cap_s": 0.2,
    "relay_backoff_base_s": 0.2,
    "relay_backoff_cap_s": 1.0,
    "send_rate_per_s": 1000.0,
    "send_rate_burst": 100.0,
    "smtp_timeout_s": 5.0,
}
STAFF = ("X24", "cdf_manager")


def database(name: str) -> str:
    """A database of the test's own, so no other test's queue is sent by this test's sender."""
    return f"notification_{name}"


async def publish_events(stack: TestStack, events: list[tuple[str, str, dict[str, Any]]]) -> list[uuid.UUID]:
    envelopes = [envelope_for(event_type, subject, data, source="test") for event_type, subject, data in events]
    await publish(stack.bootstrap_servers, envelopes)
    return [e.id for e in envelopes]


async def rows(service: RunningService, *where: Any) -> list[Notification]:
    async with service.runtime.sessions() as session:
        return list((await session.scalars(select(Notification).where(*where).order_by(Notification.created_at))).all())


async def count(service: RunningService, *where: Any) -> int:
    async with service.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0)


def relay_mail(stack: TestStack, message_ids: set[str]) -> list[EmailMessage]:
    """What the dev relay received with one of these Message-IDs (each delivery is one .eml)."""
    return [m for m in read_messages(stack.layout.mail) if m["Message-ID"] in message_ids]


def relay_counts(stack: TestStack, message_ids: set[str]) -> Counter[str]:
    """Deliveries per Message-ID, reading only the header block of each .eml (fast for thousands)."""
    counts: Counter[str] = Counter()
    for path in Path(stack.layout.mail).glob("*.eml"):
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
        message_id = email.message_from_bytes(head, policy=default_policy)["Message-ID"]
        if message_id in message_ids:
            counts[message_id] += 1
    return counts


def refused(stack: TestStack, message_id: str) -> int:
    return sum(1 for mid, _ in stack.relay.handler.refused if mid == message_id)


def gateway_tls(stack: TestStack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.layout.certs / "relay-cert.pem"))


async def send_to_gateway(
    stack: TestStack, message: EmailMessage | bytes, sender: str, recipients: list[str], start_tls: bool = True
) -> Any:
    """Deliver as another mail server would: STARTTLS, MAIL FROM, RCPT TO, DATA."""
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=stack.layout.ports.inbound,
        start_tls=start_tls,
        tls_context=gateway_tls(stack),
        timeout=10,
    ) as smtp:
        if isinstance(message, bytes):
            return await smtp.sendmail(sender, recipients, message)
        return await smtp.send_message(message, sender=sender, recipients=recipients)
