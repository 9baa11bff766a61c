"""Received mail, for the case teams and ifr-service (the inbound-mail contract in the README).

The stored application holds patient identifiers, which is why it is served here behind
authentication and an audit record rather than carried on the bus.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import defer

from casework.auth import Principal, current_principal, require_roles
from casework.openapi import problems
from casework.pagination import Page, paginate
from casework.problems import NotFound
from notification_service.access import INBOUND_MAIL_READER_ROLES
from notification_service.api.schemas import (
    InboundAttachmentOut,
    InboundMailOut,
    InboundMailSummary,
    InboundRefusalOut,
)
from notification_service.db.models import InboundAttachment, InboundMessage, InboundRefusal
from notification_service.runtime import Uow

# a caller who is not a commissioner is told nothing exists here (404), whatever the path
router = APIRouter(prefix="/inbound-mail", tags=["inbound mail"], responses=problems(404))


_READERS = require_roles(*INBOUND_MAIL_READER_ROLES)


async def _commissioner(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    # Mail to the national mailboxes is commissioners' business; anyone else is told nothing exists
    # (404 before the role check: a provider's 403 would say there is something to be refused).
    if not principal.is_commissioner:
        raise NotFound("no such inbound mail")
    return await _READERS(principal)


Reader = Annotated[Principal, Depends(_commissioner)]


@router.get("", response_model=Page[InboundMailSummary])
async def list_inbound_mail(
    uow: Uow,
    principal: Reader,
    mailbox: Annotated[str | None, Query(max_length=254)] = None,
    sender: Annotated[str | None, Query(max_length=254)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[InboundMailSummary]:
    query = select(InboundMessage).options(defer(InboundMessage.raw), defer(InboundMessage.application))
    if mailbox:
        query = query.where(InboundMessage.mailbox == mailbox.lower())
    if sender:
        query = query.where(InboundMessage.sender == sender.lower())
    rows, next_cursor = await paginate(
        uow.session, query, (InboundMessage.received_at, InboundMessage.id), cursor, limit
    )
    uow.audit(principal, "list", "inbound_mail", "*", detail={"ids": [str(r.id) for r in rows]})
    await uow.commit()
    items = [
        InboundMailSummary(
            inbound_id=r.id,
            mailbox=r.mailbox,
            sender=r.sender,
            received_at=r.received_at,
            sha256=r.sha256,
            has_application=r.application_source is not None,
            application_problems=r.application_problems,
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/refused", response_model=Page[InboundRefusalOut])
async def list_refused_mail(
    uow: Uow,
    principal: Reader,
    mailbox: Annotated[str | None, Query(max_length=254)] = None,
    sender: Annotated[str | None, Query(max_length=254)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[InboundRefusalOut]:
    """Mail the gateway refused, with the reason it gave the sender (declared before `/{inbound_id}`)."""
    query = select(InboundRefusal)
    if mailbox:
        query = query.where(InboundRefusal.mailbox == mailbox.lower())
    if sender:
        query = query.where(InboundRefusal.sender == sender.lower())
    rows, next_cursor = await paginate(
        uow.session, query, (InboundRefusal.refused_at, InboundRefusal.id), cursor, limit
    )
    uow.audit(principal, "list", "inbound_refusal", "*", detail={"ids": [str(r.id) for r in rows]})
    await uow.commit()
    items = [InboundRefusalOut.model_validate({**_columns(r), "inbound_id": r.id}) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


def _columns(row: InboundRefusal) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in InboundRefusal.__table__.columns}


@router.get("/{inbound_id}", response_model=InboundMailOut)
async def get_inbound_mail(inbound_id: uuid.UUID, uow: Uow, principal: Reader) -> InboundMailOut:
    message = await uow.session.get(InboundMessage, inbound_id, options=[defer(InboundMessage.raw)])
    if message is None:
        raise NotFound(f"inbound mail {inbound_id} not found")
    attachments = (
        await uow.session.execute(
            select(
                InboundAttachment.index,
                InboundAttachment.filename,
                InboundAttachment.content_type,
                InboundAttachment.size,
                InboundAttachment.sha256,
            )
            .where(InboundAttachment.inbound_id == inbound_id)
            .order_by(InboundAttachment.index)
        )
    ).all()
    uow.audit(principal, "read", "inbound_mail", inbound_id)
    await uow.commit()
    return InboundMailOut(
        inbound_id=message.id,
        mailbox=message.mailbox,
        sender=message.sender,
        subject=message.subject,
        received_at=message.received_at,
        message_id=message.message_id,
        sha256=message.sha256,
        application=message.application,
        application_problems=message.application_problems,
        attachments=[InboundAttachmentOut.model_validate(a, from_attributes=True) for a in attachments],
        sender_auth=message.sender_auth,
    )


@router.get(
    "/{inbound_id}/attachments/{index}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the attachment's bytes"}},
)
async def get_inbound_attachment(
    inbound_id: uuid.UUID, index: Annotated[int, Path(ge=0, le=1000)], uow: Uow, principal: Reader
) -> Response:
    attachment = await uow.session.get(InboundAttachment, (inbound_id, index))
    if attachment is None:
        raise NotFound(f"inbound mail {inbound_id} has no attachment {index}")
    uow.audit(principal, "read_attachment", "inbound_mail", inbound_id, detail={"index": index})
    await uow.commit()
    return Response(
        content=attachment.content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{_header_safe(attachment.filename)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _header_safe(filename: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
