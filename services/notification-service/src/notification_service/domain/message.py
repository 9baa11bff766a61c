"""A rendered template for one recipient becomes an RFC 5322 message (plain text + HTML alternative).

The Message-ID is derived from the event id, template and recipient, never random, so a redelivered
event or a retried send carries the same id and the relay / recipient can tell it is the same message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from notification_service.domain.secure_domains import SecureDomains, address_of
from notification_service.domain.templates import RenderedMail, secure_subject


@dataclass(frozen=True)
class MailIdentity:
    """Who the service sends as: the registered application account and our Message-ID domain."""

    from_address: str
    message_id_domain: str = "casework.nhs.uk"
    display_name: str = "NHS England specialised commissioning"


def message_id_for(event_id: uuid.UUID, template: str, recipient: str, domain: str) -> str:
    """`<uuid5(event_id, template|recipient)@domain>`: what the queue stores and every send reuses."""
    return f"<{uuid.uuid5(event_id, f'{template}|{recipient.lower()}')}@{domain}>"


def build_message(
    rendered: RenderedMail,
    *,
    recipient: str,
    event_id: uuid.UUID,
    identity: MailIdentity,
    secure_domains: SecureDomains,
    sent_at: datetime | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> EmailMessage:
    """One message to one recipient; `[secure]` is added when the recipient is outside secure domains."""
    to = address_of(recipient)
    message = EmailMessage()
    message["From"] = f"{identity.display_name} <{identity.from_address}>"
    message["To"] = to
    message["Subject"] = secure_subject(rendered.subject, to, secure_domains)
    message["Message-ID"] = message_id_for(event_id, rendered.template, to, identity.message_id_domain)
    # RFC 3834: marks the mail as automatic so out-of-office replies and our own gateway do not answer it.
    message["Auto-Submitted"] = "auto-generated" if in_reply_to is None else "auto-replied"
    if sent_at is not None:
        message["Date"] = format_datetime(sent_at)
    _thread(message, in_reply_to, references)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _thread(message: EmailMessage, in_reply_to: str | None, references: Sequence[str]) -> None:
    if in_reply_to is None:
        return
    message["In-Reply-To"] = in_reply_to
    chain = [*references, in_reply_to] if in_reply_to not in references else list(references)
    message["References"] = " ".join(chain)
