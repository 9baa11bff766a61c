"""The inbound SMTP gateway (aiosmtpd) running on the service's own event loop.

STARTTLS is required (certificate and key from INBOUND_CERT_FILE / INBOUND_KEY_FILE). RCPT TO an
address not in INBOUND_MAILBOXES is refused with 550 at once, so nothing is ever stored for it. A
failure while storing answers 451, so the sending server keeps the message and tries again.

The sender is checked once per message (SPF against the connecting address and MAIL FROM, DKIM, DMARC
for the From domain: `gateway.sender_checks`) and each mailbox's policy decides (`domain.sender_auth`):
a sender that cannot be verified for an enforcing mailbox gets 550 5.7.26 and nothing is stored or
sent back; a check that could not be made now (DNS) gets 451 before anything is stored.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from casework.logs import get_logger
from casework.worker import Backoff, Worker
from notification_service.config import notification_settings
from notification_service.domain.sender_auth import (
    SenderDecision,
    SenderOutcome,
    SenderPolicy,
    SenderVerdict,
    sender_decision,
)
from notification_service.gateway.sender_checks import check_sender, use_resolver
from notification_service.runtime import NotificationRuntime
from notification_service.settings import NotificationSettings
from notification_service.use_cases.inbound_mail import receive

log = get_logger(__name__)
_LISTEN_BACKOFF = Backoff(base_s=0.5, cap_s=30.0)


class GatewayHandler:
    """aiosmtpd hooks: which recipients are ours, and what to do with a message's bytes."""

    def __init__(self, runtime: NotificationRuntime, mailboxes: frozenset[str]) -> None:
        self.runtime = runtime
        self.mailboxes = mailboxes
        self.settings = notification_settings(runtime.settings)
        self.policies = {m.strip().lower(): p for m, p in self.settings.inbound_sender_checks.items()}

    def policy(self, mailbox: str) -> SenderPolicy:
        return self.policies.get(mailbox, self.settings.inbound_sender_check)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.mailboxes:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", errors="surrogateescape")
        mailboxes = list(dict.fromkeys(r.lower() for r in envelope.rcpt_tos))
        verdict = await self._verdict(session, envelope, raw, mailboxes)
        decisions = {m: sender_decision(verdict, self.policy(m)) for m in mailboxes}
        if any(d.outcome is SenderOutcome.RETRY for d in decisions.values()):
            return "451 4.7.0 The sender could not be verified just now; please try again later"
        try:
            for mailbox in mailboxes:
                await receive(
                    self.runtime,
                    raw,
                    mailbox,
                    mail_from=envelope.mail_from,
                    verdict=verdict,
                    verified=decisions[mailbox],
                )
        except Exception:
            log.exception("inbound mail could not be stored; the sender will retry")
            return "451 4.3.0 Temporary failure; please try again later"
        if all(d.outcome is SenderOutcome.REFUSE for d in decisions.values()):
            return f"550 5.7.26 Not accepted: {_first_reason(decisions.values())}"
        return "250 2.0.0 Message received"

    async def _verdict(
        self, session: Session, envelope: Envelope, raw: bytes, mailboxes: list[str]
    ) -> SenderVerdict | None:
        if all(self.policy(m) is SenderPolicy.OFF for m in mailboxes):
            return None
        peer_ip = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        mail_from = envelope.mail_from or ""
        return await check_sender(raw, peer_ip, session.host_name, mail_from, self.settings.inbound_server_name)


def _first_reason(decisions: Iterable[SenderDecision]) -> str:
    return next((d.reason for d in decisions if d.reason), "sender not verified")


def gateway_tls(settings: NotificationSettings) -> ssl.SSLContext | None:
    if not (settings.inbound_cert_file and settings.inbound_key_file):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.inbound_cert_file, settings.inbound_key_file)
    return context


async def inbound_gateway(runtime: NotificationRuntime) -> None:
    """Background task: listen for mail until the service stops."""
    settings = notification_settings(runtime.settings)
    if not settings.inbound_enabled:
        return
    context = gateway_tls(settings)
    if context is None:
        log.error("inbound gateway not started: STARTTLS needs INBOUND_CERT_FILE and INBOUND_KEY_FILE")
        return
    use_resolver(settings.inbound_dns_server)
    handler = GatewayHandler(runtime, frozenset(m.strip().lower() for m in settings.inbound_mailboxes))
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            handler,
            hostname=settings.inbound_server_name,
            ident="casework inbound gateway",
            tls_context=context,
            require_starttls=True,
            data_size_limit=settings.inbound_max_bytes,
            enable_SMTPUTF8=True,
            loop=loop,
        )

    async def listen_and_serve() -> bool:
        # a listen that fails (the port still held by a stopping replica, say) is tried again with backoff
        server = await loop.create_server(protocol, host=settings.inbound_host, port=settings.inbound_port)
        log.info("inbound gateway listening", host=settings.inbound_host, port=settings.inbound_port)
        try:
            await server.serve_forever()  # returns only by raising: the service stops
        finally:
            server.close()
        return False

    worker = Worker(
        "inbound-gateway",
        listen_and_serve,
        service=runtime.settings.service_name,
        poll_s=_LISTEN_BACKOFF.base_s,
        backoff=_LISTEN_BACKOFF,
        failure_message="inbound gateway cannot listen yet",
    )
    await worker.run()
