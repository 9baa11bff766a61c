"""Applications by mail: `mail.received` at the IFR mailbox opens a draft case linked to the message.

The mail event carries no application content (it holds patient data); the application is fetched
from notification-service by `inbound_id`. One draft per inbound message, however often the event
comes. Values that do not pass their checks are left out of the draft and listed as its intake
problems, with the gateway's own, for the case officer to resolve with the clinician.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select

from casework.events.catalogue.mail import MailReceived
from casework.inbox import ReceivedEvent
from casework.service_client import ServiceClient
from ifr_service.db.models import Document, IfrRequest
from ifr_service.domain.application import from_mail
from ifr_service.domain.case import CaseState
from ifr_service.domain.documents import safe_filename, sniff
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.settings import IfrSettings
from ifr_service.use_cases.workflow import apply_application, new_reference

ACTOR = "system:ifr-mail-intake"


async def open_draft_from_mail(uow: IfrUnitOfWork, event: ReceivedEvent[MailReceived]) -> None:
    mail = event.payload
    settings = uow.settings
    assert isinstance(settings, IfrSettings)
    if mail.mailbox.lower() != settings.ifr_mailbox.lower():
        return
    if await uow.session.scalar(select(IfrRequest.id).where(IfrRequest.inbound_id == mail.inbound_id)):
        return  # already opened (the same message published again)
    client = ServiceClient(settings, settings.notification_service_url)
    message = await client.get_json(f"/api/v1/inbound-mail/{mail.inbound_id}")
    fields = message.get("application") or {}
    application, problems = from_mail(fields)
    if application.clinician.email is None and "@" in mail.sender:
        application = application.model_copy(
            update={"clinician": application.clinician.model_copy(update={"email": mail.sender.lower()})}
        )
    gateway_problems = list(message.get("application_problems") or [])
    if not fields:
        gateway_problems.append("no application form was found in the mail")
    case_id = uuid.uuid4()
    documents, attachment_problems = await fetch_attachments(client, settings, mail, case_id)
    case = IfrRequest(
        id=case_id,
        reference=await new_reference(uow),
        state=CaseState.DRAFT,
        source="mail",
        inbound_id=mail.inbound_id,
        intake_problems=gateway_problems + [p for p in problems if p not in gateway_problems] + attachment_problems,
        created_by=ACTOR,
    )
    apply_application(case, application, settings.trust_regions)
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
    uow.session.add_all(documents)
    for document in documents:
        uow.audit(ACTOR, "document.upload", "ifr_request", case.id, detail={"sha256": document.sha256, "from": "mail"})


async def fetch_attachments(
    client: ServiceClient, settings: IfrSettings, mail: MailReceived, case_id: uuid.UUID
) -> tuple[list[Document], list[str]]:
    """The mail's PDF and DOCX attachments (clinic letters) as the draft's documents, and problems for
    the ones that cannot be kept. The application form itself (JSON) is not a document."""
    documents: list[Document] = []
    problems: list[str] = []
    for index, ref in enumerate(mail.attachments):
        if ref.content_type == "application/json" or ref.filename.lower().endswith(".json"):
            continue
        label = f"attachment {index + 1}"
        if ref.size > settings.document_max_bytes:
            problems.append(f"{label}: larger than the {settings.document_max_bytes} bytes allowed, not kept")
            continue
        content, _ = await client.get_bytes(f"/api/v1/inbound-mail/{mail.inbound_id}/attachments/{index}")
        content_type = sniff(content)
        if content_type is None:
            problems.append(f"{label}: not a PDF or DOCX document, not kept")
            continue
        digest = hashlib.sha256(content).hexdigest()
        if digest != ref.sha256:
            raise ValueError(f"{label} of mail {mail.inbound_id} does not match its checksum")  # retried
        documents.append(
            Document(
                id=uuid.uuid4(),
                request_id=case_id,
                filename=safe_filename(ref.filename, content_type),
                content_type=content_type,
                size=len(content),
                sha256=digest,
                description="attached to the application mail",
                content=content,
                uploaded_by=ACTOR,
            )
        )
    return documents, problems
