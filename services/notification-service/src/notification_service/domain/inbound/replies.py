"""The gateway's replies (acknowledgement, refusal) and the `mail.received` event's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from notification_service.domain.inbound.message import InboundMail, inbound_id_for
from notification_service.domain.message import MailIdentity, build_message
from notification_service.domain.secure_domains import SecureDomains
from notification_service.domain.templates import RenderedMail, TemplateSet


def inbound_reference(inbound_id: uuid.UUID) -> str:
    return f"MAIL-{inbound_id.hex[:8].upper()}"


def received_payload(mail: InboundMail, inbound_id: uuid.UUID, received_at: datetime) -> dict[str, Any]:
    """The `mail.received` event data: redacted subject, attachment refs, no application content."""
    return {
        "inbound_id": inbound_id,
        "mailbox": mail.mailbox,
        "sender": mail.sender,
        "subject": mail.safe_subject,
        "received_at": received_at,
        "sha256": mail.sha256,
        "has_application": mail.application is not None,
        "application_problems": mail.problem_lines(),
        "attachments": [a.ref() for a in mail.attachments],
    }


@dataclass(frozen=True)
class ReplySettings:
    """What every gateway reply needs besides the message itself."""

    templates: TemplateSet
    identity: MailIdentity
    secure_domains: SecureDomains
    link: str  # where to submit or track applications online
    acknowledgement_template: str = "mail_acknowledgement"
    refusal_template: str = "mail_refusal"


def acknowledgement_mail(mail: InboundMail, inbound_id: uuid.UUID, settings: ReplySettings) -> RenderedMail:
    """The acknowledgement's subject and bodies: our reference and the application's problems."""
    problems = mail.application.problem_lines() if mail.application else []
    context = {
        "mailbox": mail.mailbox,
        "inbound_reference": inbound_reference(inbound_id),
        "case_reference": inbound_reference(inbound_id),
        "has_application": mail.application is not None,
        "application_problems": problems,
        "refused_attachments": list(mail.refused_attachments),
        "link": settings.link,
    }
    return settings.templates.render(settings.acknowledgement_template, context)


def refusal_mail(mail: InboundMail, reason: str, settings: ReplySettings) -> RenderedMail:
    """The refusal's subject and bodies: the reason, never the received subject."""
    context = {"mailbox": mail.mailbox, "reason": reason, "case_reference": "", "link": settings.link}
    return settings.templates.render(settings.refusal_template, context)


def acknowledgement_reply(
    mail: InboundMail, inbound_id: uuid.UUID, settings: ReplySettings, sent_at: datetime | None = None
) -> EmailMessage:
    return _reply(mail, acknowledgement_mail(mail, inbound_id, settings), inbound_id, settings, sent_at)


def refusal_reply(
    mail: InboundMail, reason: str, settings: ReplySettings, sent_at: datetime | None = None
) -> EmailMessage:
    reply_to_id = inbound_id_for(mail.sha256, mail.mailbox)
    return _reply(mail, refusal_mail(mail, reason, settings), reply_to_id, settings, sent_at)


def _reply(
    mail: InboundMail,
    rendered: RenderedMail,
    reply_to_id: uuid.UUID,
    settings: ReplySettings,
    sent_at: datetime | None,
) -> EmailMessage:
    # Replies go to the From mailbox only; a Reply-To could point anywhere.
    return build_message(
        rendered,
        recipient=mail.sender,
        event_id=reply_to_id,
        identity=settings.identity,
        secure_domains=settings.secure_domains,
        sent_at=sent_at,
        in_reply_to=mail.message_id,
        references=mail.references,
    )
