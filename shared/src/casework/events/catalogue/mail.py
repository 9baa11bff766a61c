"""Inbound mail (topic `mail.inbound`).

The structured application inside a mail holds patient identifiers, so it stays in
notification-service; consumers fetch it over HTTP by `inbound_id` when they need it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from casework.events.registry import registry


class AttachmentRef(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str


@registry.register("mail.received")
class MailReceived(BaseModel):
    """An accepted message arrived at a configured mailbox."""

    inbound_id: UUID
    mailbox: str
    sender: str
    subject: str
    received_at: datetime
    sha256: str
    has_application: bool
    application_problems: list[str]
    attachments: list[AttachmentRef]
