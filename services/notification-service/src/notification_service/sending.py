"""Sends queued notifications through the relay (STARTTLS + AUTH) and records the outcome.

A 5xx reply fails the notification with the reason and no further tries; connection errors,
timeouts and 4xx replies are retried with exponential backoff and full jitter.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select

from casework.backoff import backoff_delay
from casework.logs import get_logger
from casework.runtime import ServiceRuntime
from notification_service.db.models import Notification
from notification_service.settings import NotificationSettings

log = get_logger(__name__)


class PermanentRefusal(Exception):
    pass


def build_message(n: Notification, settings: NotificationSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = n.recipient
    message["Subject"] = n.subject
    message["Message-ID"] = n.message_id
    message.set_content(n.body_text)
    return message


def tls_context(settings: NotificationSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    return context


async def deliver(message: EmailMessage, settings: NotificationSettings) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=settings.smtp_starttls,
            tls_context=tls_context(settings),
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.smtp_timeout_s,
        )
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise PermanentRefusal(f"{exc.code} {exc.message}") from exc
        raise


async def send_due(runtime: ServiceRuntime) -> int:
    """Send every notification that is due; returns how many were attempted."""
    settings = runtime.settings
    assert isinstance(settings, NotificationSettings)
    async with runtime.unit_of_work() as uow:
        due = (
            await uow.session.scalars(
                select(Notification)
                .where(Notification.status == "queued", Notification.next_attempt_at <= datetime.now(UTC))
                .order_by(Notification.created_at)
                .limit(50)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for n in due:
            await _attempt(uow, n, settings)
        await uow.commit()
    return len(due)


async def _attempt(uow, n: Notification, settings: NotificationSettings) -> None:  # type: ignore[no-untyped-def]
    n.attempts += 1
    outcome = {
        "notification_id": n.id,
        "source_event_id": n.source_event_id,
        "source_event_type": n.source_event_type,
        "template": n.template,
        "recipient": n.recipient,
        "message_id": n.message_id,
        "case_reference": n.case_reference,
        "attempts": n.attempts,
    }
    try:
        await deliver(build_message(n, settings), settings)
    except PermanentRefusal as exc:
        n.status, n.last_error = "failed", str(exc)
        uow.emit("notification.failed", str(n.id), {**outcome, "error": str(exc)})
        return
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        n.last_error = f"{type(exc).__name__}: {exc}"
        if n.attempts >= settings.send_max_attempts:
            n.status = "failed"
            uow.emit("notification.failed", str(n.id), {**outcome, "error": n.last_error})
        else:
            delay = backoff_delay(n.attempts, settings.send_retry_base_s, settings.send_retry_cap_s)
            n.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
        return
    n.status, n.sent_at, n.last_error = "sent", datetime.now(UTC), None
    uow.emit("notification.sent", str(n.id), {**outcome, "sent_at": n.sent_at})


async def sender_loop(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationSettings)
    while True:
        try:
            sent = await send_due(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("sending round failed", error=repr(exc))
            sent = 0
        if not sent:
            await asyncio.sleep(settings.send_poll_interval_s)
