"""Applications by mail: `mail.received` at the IFR mailbox opens a draft case linked to the message.

The mail event carries no application content (it holds patient data); the application is fetched
from notification-service by `inbound_id`. One draft per inbound message, however often the event
comes. Values that do not pass their checks are left out of the draft and listed as its intake
problems, with the gateway's own, for the case officer to resolve with the clinician.
"""

from __future__ import annotations

from sqlalchemy import select

from casework.events.catalogue.mail import MailReceived
from casework.inbox import ReceivedEvent
from casework.service_client import ServiceClient
from casework.uow import UnitOfWork
from ifr_service.db.models import IfrRequest
from ifr_service.domain.application import from_mail
from ifr_service.domain.case import CaseState
from ifr_service.settings import IfrSettings
from ifr_service.workflow import apply_application, new_reference

ACTOR = "system:ifr-mail-intake"


async def open_draft_from_mail(uow: UnitOfWork, event: ReceivedEvent) -> None:
    mail = event.payload
    assert isinstance(mail, MailReceived)
    settings = uow.settings
    assert isinstance(settings, IfrSettings)
    if mail.mailbox.lower() != settings.ifr_mailbox.lower():
        return
    if await uow.session.scalar(select(IfrRequest.id).where(IfrRequest.inbound_id == mail.inbound_id)):
        return  # already opened (the same message published again)
    message = await ServiceClient(settings, settings.notification_service_url).get_json(
        f"/api/v1/inbound-mail/{mail.inbound_id}"
    )
    fields = message.get("application") or {}
    application, problems = from_mail(fields)
    if application.clinician.email is None and "@" in mail.sender:
        application = application.model_copy(
            update={"clinician": application.clinician.model_copy(update={"email": mail.sender.lower()})}
        )
    gateway_problems = list(message.get("application_problems") or [])
    if not fields:
        gateway_problems.append("no application form was found in the mail")
    case = IfrRequest(
        reference=await new_reference(uow),
        state=CaseState.DRAFT,
        source="mail",
        inbound_id=mail.inbound_id,
        intake_problems=gateway_problems + [p for p in problems if p not in gateway_problems],
        created_by=ACTOR,
    )
    apply_application(case, application)
    uow.session.add(case)
    await uow.session.flush()
    uow.audit(
        ACTOR,
        "create",
        "ifr_request",
        case.id,
        reason=f"application mail {mail.inbound_id}",
        detail={"inbound_id": str(mail.inbound_id), "problems": len(case.intake_problems)},
    )
