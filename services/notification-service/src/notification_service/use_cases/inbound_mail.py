"""What happens to one received message: screen it, store it, publish it and reply, in one transaction.

Accepted: the raw bytes and their SHA-256, the extracted application and attachments are stored,
`mail.received` goes to the outbox and a threaded acknowledgement to the outbound queue, all in one
commit. The inbound id is derived from the checksum and mailbox, so a duplicate delivery of the same
raw message finds its row and does nothing at all (no second event, no second reply).
Refused: the threaded refusal (naming the reason) is queued and the refusal recorded (sender, mailbox,
reason, checksum: none of the content, which may hold patient data); nothing is published.
Refused because the sender could not be verified (SPF/DKIM/DMARC, `domain.sender_auth`): recorded the
same way, but no reply, which would go to the forged address. An accepted message keeps its sender
checks' results on its record.
Ignored (auto-replies, bounces, unreadable senders): nothing, so two robots never mail each other.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from casework.logs import get_logger
from notification_service.config import config_of, mail_identity, notification_settings
from notification_service.db.models import InboundAttachment, InboundMessage, InboundRefusal
from notification_service.db.queue import Cause, enqueue
from notification_service.db.templates import load_template_set
from notification_service.domain.inbound.message import InboundMail, inbound_id_for, parse_message
from notification_service.domain.inbound.replies import (
    ReplySettings,
    acknowledgement_mail,
    inbound_reference,
    received_payload,
    refusal_mail,
)
from notification_service.domain.inbound.screening import GatewayDecision, GatewayOutcome, screen
from notification_service.domain.sender_auth import SenderDecision, SenderOutcome, SenderVerdict
from notification_service.domain.templates import RenderedMail
from notification_service.metrics import INBOUND_MAIL
from notification_service.runtime import NotificationRuntime, NotificationUnitOfWork

log = get_logger(__name__)
GATEWAY_ACTOR = "system:inbound-gateway"


@dataclass(frozen=True)
class Intake:
    inbound_id: uuid.UUID
    decision: GatewayDecision
    stored: bool  # False for a refusal, an ignored message or a duplicate delivery


def envelope_sender(mail_from: str | None) -> str | None:
    """MAIL FROM as `screen` wants it: '' for the null sender of a bounce."""
    if mail_from is None:
        return None
    return "" if mail_from.strip() in ("", "<>") else mail_from.strip()


async def receive(
    runtime: NotificationRuntime,
    raw: bytes,
    mailbox: str,
    *,
    mail_from: str | None,
    verdict: SenderVerdict | None = None,
    verified: SenderDecision | None = None,
) -> Intake:
    mailbox = mailbox.lower()
    # Parsing a large message is CPU work: keep it off the event loop that serves the API.
    mail = await asyncio.to_thread(parse_message, raw, envelope_recipient=mailbox)
    sender = envelope_sender(mail_from)
    decision = screen(mail, config_of(runtime.settings).mail.secure, sender)
    inbound_id = inbound_id_for(mail.sha256, mailbox)
    if decision.outcome is not GatewayOutcome.ignore and verified and verified.outcome is SenderOutcome.REFUSE:
        # before the screen's refusal: that one replies to the From address, which here may be forged
        reason = verified.reason or "sender not verified"
        return await _refuse_unverified(runtime, mail, inbound_id, reason, sender, verdict)
    if decision.outcome is GatewayOutcome.ignore:
        INBOUND_MAIL.labels(GatewayOutcome.ignore.value).inc()
        log.info("inbound mail ignored", inbound_id=str(inbound_id), reason=decision.reason)
        return Intake(inbound_id, decision, stored=False)
    async with runtime.unit_of_work() as uow:
        stored = False
        if decision.outcome is GatewayOutcome.accept:
            stored = await _accept(uow, mail, raw, inbound_id, sender, verdict)
        else:
            await _refuse(uow, mail, inbound_id, decision.reason or "not accepted", sender)
        await uow.commit()
    duplicate = decision.outcome is GatewayOutcome.accept and not stored
    INBOUND_MAIL.labels("duplicate" if duplicate else decision.outcome.value).inc()
    log.info("inbound mail", inbound_id=str(inbound_id), outcome=decision.outcome.value, stored=stored)
    return Intake(inbound_id, decision, stored)


async def _accept(
    uow: NotificationUnitOfWork,
    mail: InboundMail,
    raw: bytes,
    inbound_id: uuid.UUID,
    sender: str | None,
    verdict: SenderVerdict | None,
) -> bool:
    received_at = datetime.now(UTC)
    if not await _store(uow.session, mail, raw, inbound_id, sender, received_at, verdict):
        return False  # the same message again: already stored, published and acknowledged
    uow.emit("mail.received", str(inbound_id), received_payload(mail, inbound_id, received_at))
    reply = acknowledgement_mail(mail, inbound_id, await _reply_settings(uow))
    await _queue_reply(uow, mail, reply, inbound_id, "mail.received", inbound_reference(inbound_id))
    uow.audit(GATEWAY_ACTOR, "receive", "inbound_mail", inbound_id, detail={"mailbox": mail.mailbox})
    return True


async def _refuse(
    uow: NotificationUnitOfWork, mail: InboundMail, inbound_id: uuid.UUID, reason: str, sender: str | None
) -> None:
    await _record_refusal(uow, mail, inbound_id, reason, sender)
    reply = refusal_mail(mail, reason, await _reply_settings(uow))
    await _queue_reply(uow, mail, reply, inbound_id, "mail.refused")
    uow.audit(GATEWAY_ACTOR, "refuse", "inbound_mail", inbound_id, reason=reason, detail={"mailbox": mail.mailbox})


async def _record_refusal(
    uow: NotificationUnitOfWork, mail: InboundMail, inbound_id: uuid.UUID, reason: str, sender: str | None
) -> None:
    await uow.session.execute(
        pg_insert(InboundRefusal)
        .values(
            id=inbound_id,
            mailbox=mail.mailbox,
            sender=mail.sender,
            envelope_sender=sender,
            message_id=mail.message_id,
            sha256=mail.sha256,
            reason=reason,
        )
        .on_conflict_do_nothing()  # the same message again: one record, and the reply is deduplicated too
    )


async def _refuse_unverified(
    runtime: NotificationRuntime,
    mail: InboundMail,
    inbound_id: uuid.UUID,
    reason: str,
    sender: str | None,
    verdict: SenderVerdict | None,
) -> Intake:
    async with runtime.unit_of_work() as uow:
        await _record_refusal(uow, mail, inbound_id, reason, sender)
        detail = {"mailbox": mail.mailbox, "sender": mail.sender} | (verdict.as_record() if verdict else {})
        uow.audit(GATEWAY_ACTOR, "refuse_unverified", "inbound_mail", inbound_id, reason=reason, detail=detail)
        await uow.commit()
    INBOUND_MAIL.labels("unverified").inc()
    log.warning("inbound mail refused: sender not verified", inbound_id=str(inbound_id), reason=reason)
    return Intake(inbound_id, GatewayDecision(GatewayOutcome.refuse, reason), stored=False)


async def _store(
    session: AsyncSession,
    mail: InboundMail,
    raw: bytes,
    inbound_id: uuid.UUID,
    sender: str | None,
    received_at: datetime,
    verdict: SenderVerdict | None,
) -> bool:
    application = mail.application
    inserted = await session.scalar(
        pg_insert(InboundMessage)
        .values(
            id=inbound_id,
            mailbox=mail.mailbox,
            sender=mail.sender,
            envelope_sender=sender,
            subject=mail.subject,
            message_id=mail.message_id,
            sha256=mail.sha256,
            size=len(raw),
            raw=raw,
            application=application.fields if application else None,
            application_source=application.source.value if application else None,
            application_problems=mail.problem_lines(),  # the application's, then attachments not kept
            sender_auth=verdict.as_record() if verdict else None,
            received_at=received_at,
        )
        .on_conflict_do_nothing()
        .returning(InboundMessage.id)
    )
    if inserted is None:
        return False
    for index, attachment in enumerate(mail.attachments):
        session.add(
            InboundAttachment(
                inbound_id=inbound_id,
                index=index,
                filename=attachment.filename[:255],
                content_type=attachment.content_type[:255],
                size=attachment.size,
                sha256=attachment.sha256,
                content=attachment.content,
            )
        )
    await session.flush()
    return True


async def _reply_settings(uow: NotificationUnitOfWork) -> ReplySettings:
    settings = notification_settings(uow.settings)
    config = config_of(settings)
    return ReplySettings(
        templates=await load_template_set(uow.session),
        identity=mail_identity(settings),
        secure_domains=config.mail.secure,
        link=settings.frontend_base_url.rstrip("/") + "/",
        acknowledgement_template=config.table.replies.acknowledgement,
        refusal_template=config.table.replies.refusal,
    )


async def _queue_reply(
    uow: NotificationUnitOfWork,
    mail: InboundMail,
    reply: RenderedMail,
    inbound_id: uuid.UUID,
    source_type: str,
    case_reference: str | None = None,
) -> None:
    """A threaded reply through the outbound queue; its Message-ID derives from the inbound id."""
    settings = notification_settings(uow.settings)
    cause = Cause(
        event_id=inbound_id,
        event_type=source_type,
        case_reference=case_reference,
        link=settings.frontend_base_url.rstrip("/") + "/",
        in_reply_to=mail.message_id,
        references=mail.references,
    )
    # Replies go to the From mailbox only (a Reply-To could point anywhere).
    await enqueue(
        uow.session,
        reply,
        mail.sender,
        cause,
        mail_identity(settings),
        config_of(settings).mail.secure,
        role="sender",
    )
