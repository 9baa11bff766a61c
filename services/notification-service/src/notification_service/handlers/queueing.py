"""Events become queued notifications (minimal routing: CDF approvals to the requesting clinician)."""

from __future__ import annotations

import uuid

from casework.events.catalogue.cdf import ApplicationApproved
from casework.inbox import ReceivedEvent
from casework.uow import UnitOfWork
from notification_service.db.models import Notification
from notification_service.settings import NotificationSettings


def message_id_for(event_id: uuid.UUID, template: str, recipient: str, domain: str) -> str:
    """Derived from the event, so a redelivered event or a retried send carries the same Message-ID."""
    return f"<{uuid.uuid5(event_id, f'{template}|{recipient.lower()}')}@{domain}>"


async def queue_cdf_approval(uow: UnitOfWork, event: ReceivedEvent) -> None:
    approved = event.payload
    assert isinstance(approved, ApplicationApproved)
    settings = uow.settings
    assert isinstance(settings, NotificationSettings)
    template = "cdf_application_approved"
    uow.session.add(
        Notification(
            id=uuid.uuid4(),
            source_event_id=event.envelope.id,
            source_event_type=event.envelope.type,
            template=template,
            recipient=approved.clinician_email,
            case_reference=approved.reference,
            subject=f"CDF application {approved.reference}: approved",
            body_text=(
                f"Application {approved.reference} for {approved.drug_name} has been approved.\n"
                f"Treatment must start by {approved.lapse_due:%d %B %Y}.\n"
                f"Reference: {approved.reference}\n"
            ),
            message_id=message_id_for(
                event.envelope.id, template, approved.clinician_email, settings.message_id_domain
            ),
            status="queued",
        )
    )
