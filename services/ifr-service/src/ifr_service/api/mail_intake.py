"""Which case each application mail opened, for the people who watch the inbound mail.

The mail-intake handler opens one draft per received message (`IfrRequest.inbound_id`); the mail
operators list received mail in notification-service and need the case next to each message. Only
the reference and state are given: no patient detail travels with them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from casework.auth import Principal, Role, require_roles
from casework.openapi import problems
from casework.problems import NotFound
from ifr_service.db.models import IfrRequest
from ifr_service.runtime import Uow

# a caller who is not a commissioner is told nothing exists here (404)
router = APIRouter(prefix="/ifr/mail-intake", tags=["mail intake"], responses=problems(404))
MAIL_READERS = (Role.IFR_OFFICER, Role.MAIL_OPERATOR, Role.SERVICE)


async def _commissioner(principal: Annotated[Principal, Depends(require_roles(*MAIL_READERS))]) -> Principal:
    # Mail to the national mailbox is the commissioner's; a trust user is told nothing exists.
    if not principal.is_commissioner:
        raise NotFound("no such mail")
    return principal


class OpenedCase(BaseModel):
    inbound_id: uuid.UUID
    request_id: uuid.UUID
    reference: str
    state: str


@router.get("", response_model=list[OpenedCase])
async def cases_opened_by_mail(
    uow: Uow,
    principal: Annotated[Principal, Depends(_commissioner)],
    inbound_id: Annotated[list[uuid.UUID], Query(min_length=1, max_length=500)],
) -> list[OpenedCase]:
    """The case each of these received messages opened (a message that opened none is left out)."""
    rows = (
        await uow.session.execute(
            select(IfrRequest.inbound_id, IfrRequest.id, IfrRequest.reference, IfrRequest.state).where(
                IfrRequest.inbound_id.in_(inbound_id)
            )
        )
    ).all()
    uow.audit(
        principal,
        "list",
        "ifr_request",
        "*",
        detail={"by_inbound_id": len(inbound_id), "ids": [str(r.id) for r in rows]},
    )
    await uow.commit()
    return [
        OpenedCase(inbound_id=r.inbound_id, request_id=r.id, reference=r.reference, state=str(r.state)) for r in rows
    ]
