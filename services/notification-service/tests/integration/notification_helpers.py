"""What the notification integration tests share: fast sender settings, events, relay and queue reads."""

from __future__ import annotations

import ssl
import uuid
from collections import Counter
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

import aiosmtplib
from sqlalchemy import func, select

from embedded_stack.dev_dns import SENDING_ADDRESS, dkim_signed
from embedded_stack.mail_relay import delivery_counts, read_messages
from embedded_stack.testing import RunningService, TestStack, envelope_for, eventually, publish
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


async def one_notification(svc: RunningService, event_id: uuid.UUID, *statuses: str) -> Notification:
    """The (single) notification an event caused, once it reaches one of `statuses`."""

    async def reached() -> Notification | None:
        found = await rows(svc, Notification.source_event_id == event_id)
        return found[0] if found and found[0].status in statuses else None

    return await eventually(reached)


def budget_event(run: str, n: int = 0) -> tuple[str, str, dict[str, object]]:
    """One event, one recipient (the central finance mailbox)."""
    line = str(uuid.uuid4())
    return (
        "contract.budget.at_risk",
        line,
        {
            "provider_ods": "RRV",
            "financial_year": f"{run}-{n:04d}",
            "budget_line_id": line,
            "line_name": "CDF drugs",
            "budget": "1000.00",
            "forecast_outturn": "1200.00",
            "variance": "200.00",
            "margin_pct": "5",
        },
    )


def relay_mail(stack: TestStack, message_ids: set[str]) -> list[EmailMessage]:
    """What the dev relay received with one of these Message-IDs (each delivery is one .eml)."""
    return [m for m in read_messages(stack.layout.mail) if m["Message-ID"] in message_ids]


def relay_counts(stack: TestStack, message_ids: set[str]) -> Counter[str]:
    """Deliveries at the dev relay per Message-ID, for these Message-IDs only."""
    return Counter({k: v for k, v in delivery_counts(stack.layout.mail).items() if k in message_ids})


def refused(stack: TestStack, message_id: str) -> int:
    return sum(1 for mid, _ in stack.relay.handler.refused if mid == message_id)


def gateway_tls(stack: TestStack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.layout.certs / "relay-cert.pem"))


def signed(stack: TestStack, message: EmailMessage | bytes, domain: str = "nhs.net") -> bytes:
    """The message signed with the dev senders' DKIM key, as a dev domain's own mail server sends it."""
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP_POLICY)
    return dkim_signed(raw, domain, stack.dns.private_key)


async def send_to_gateway(
    stack: TestStack,
    message: EmailMessage | bytes,
    sender: str,
    recipients: list[str],
    start_tls: bool = True,
    from_address: str = SENDING_ADDRESS,
) -> Any:
    """Deliver as another mail server would: STARTTLS, MAIL FROM, RCPT TO, DATA. The dev zone lets
    127.0.0.1 send for every domain (SPF); `from_address="127.0.0.2"` is a server it does not name."""
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=stack.layout.ports.inbound,
        start_tls=start_tls,
        tls_context=gateway_tls(stack),
        timeout=10,
        source_address=(from_address, 0),
    ) as smtp:
        if isinstance(message, bytes):
            return await smtp.sendmail(sender, recipients, message)
        return await smtp.send_message(message, sender=sender, recipients=recipients)
