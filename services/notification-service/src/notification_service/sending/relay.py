"""One SMTP connection to the relay (STARTTLS + AUTH), reused for a run of messages.

Maps what aiosmtplib raises onto the domain's classification; a failure to connect, upgrade or
log in is always `RelayUnavailable` (the relay, not any message, is at fault).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from email.message import EmailMessage

import aiosmtplib

from casework.logs import get_logger
from notification_service.domain.delivery import Classification, Verdict, classify_exception
from notification_service.settings import NotificationSettings

log = get_logger(__name__)
SMTP_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


class RelayUnavailable(Exception):
    """The relay could not be reached, refused TLS, or refused our login."""


def tls_context(settings: NotificationSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.smtp_ca_file)


def describe(error: BaseException) -> str:
    code = getattr(error, "code", None)
    text = str(getattr(error, "message", "") or error)
    return f"{code} {text}" if isinstance(code, int) else f"{type(error).__name__}: {text}"


class RelayConnection:
    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._sent_here = 0

    @property
    def account(self) -> str:
        """Which relay account: the sending limit is the account's, whichever process sends as it."""
        s = self._settings
        return f"{s.smtp_username}@{s.smtp_host}:{s.smtp_port}"

    @property
    def connected(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    async def open(self) -> None:
        """Connect, STARTTLS and AUTH unless already connected (and under the per-connection limit)."""
        if self.connected and self._sent_here < self._settings.send_messages_per_connection:
            return
        await self.close()
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            start_tls=s.smtp_starttls,  # True: STARTTLS is required, never silently skipped
            tls_context=tls_context(s) if s.smtp_starttls else None,
            username=s.smtp_username or None,
            password=s.smtp_password.get_secret_value() or None,
            timeout=s.smtp_timeout_s,
        )
        try:
            await smtp.connect()
        except SMTP_ERRORS as exc:
            smtp.close()
            raise RelayUnavailable(describe(exc)) from exc
        self._smtp, self._sent_here = smtp, 0

    async def send(self, message: EmailMessage, recipient: str) -> Classification:
        """One message to one recipient over the open connection; what the relay's answer means."""
        if self._smtp is None:
            raise RuntimeError("open() the relay connection first")
        self._sent_here += 1
        try:
            _, reply = await self._smtp.send_message(message, sender=self._settings.mail_from, recipients=[recipient])
        except Exception as exc:  # anything else (an address the client will not send to) is bounded by attempts
            outcome = classify_exception(exc)
            if outcome.verdict is Verdict.relay_unavailable or not isinstance(exc, aiosmtplib.SMTPResponseException):
                await self.close()  # the conversation may be half-way: start the next message afresh
            if outcome.verdict is Verdict.relay_unavailable:
                return Classification(outcome.verdict, describe(exc))
            return outcome
        return Classification(Verdict.delivered, f"250 {reply}".strip())

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if smtp.is_connected:
            with contextlib.suppress(*SMTP_ERRORS):
                await asyncio.wait_for(smtp.quit(), timeout=2)
        smtp.close()
