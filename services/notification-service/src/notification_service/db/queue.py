"""Putting a rendered mail in the outbound queue (one row per recipient), in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from casework.tracing import stored_trace
from notification_service.db.models import Notification
from notification_service.domain.delivery import NotificationStatus
from notification_service.domain.message import MailIdentity, message_id_for
from notification_service.domain.secure_domains import SecureDomains, address_of
from notification_service.domain.templates import RenderedMail, secure_subject


@dataclass(frozen=True)
class Cause:
    """Why a mail is sent: the event (or received mail) it answers and what it is about."""

    event_id: uuid.UUID
    event_type: str
    case_reference: str | None = None
    provider_ods: str | None = None
    patient_ref: str | None = None
    link: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()


async def enqueue(
    session: AsyncSession,
    rendered: RenderedMail,
    recipient: str,
    cause: Cause,
    identity: MailIdentity,
    secure: SecureDomains,
    role: str | None = None,
) -> bool:
    """Queue one message; False when this cause already queued this template to this recipient."""
    to = address_of(recipient)
    row = {
        "id": uuid.uuid4(),
        "source_event_id": cause.event_id,
        "source_event_type": cause.event_type,
        "template": rendered.template,
        "template_version": rendered.version,
        "recipient": to,
        "recipient_role": role,
        "case_reference": cause.case_reference,
        "provider_ods": cause.provider_ods.upper() if cause.provider_ods else None,
        "patient_ref": cause.patient_ref,
        "link": cause.link,
        # Stored as it will be sent, so staff see the real subject; the sender never doubles `[secure]`.
        "subject": secure_subject(rendered.subject, to, secure),
        "body_text": rendered.text,
        "body_html": rendered.html,
        # The same formula `build_message` uses: a re-queued or retried mail keeps its Message-ID.
        "message_id": message_id_for(cause.event_id, rendered.template, to, identity.message_id_domain),
        "in_reply_to": cause.in_reply_to,
        # The received mail's own References; `build_message` appends In-Reply-To when sending.
        "references": " ".join(cause.references) or None,
        "status": NotificationStatus.queued.value,
        "trace_context": stored_trace(),  # the sender continues the trace of what queued it
        "attempts": 0,
        "version": 1,
    }
    inserted = await session.scalar(
        pg_insert(Notification).values(**row).on_conflict_do_nothing().returning(Notification.id)
    )
    return inserted is not None
