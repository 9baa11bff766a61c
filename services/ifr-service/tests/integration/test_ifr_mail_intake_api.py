"""Which case each application mail opened: the mail operators' view beside the received mail."""

import uuid

from ifr_http import Ifr
from sqlalchemy import update

from embedded_stack.testing import TestStack
from ifr_service.db.models import IfrRequest


async def test_the_case_a_mail_opened_is_found_by_its_inbound_id(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_mail_intake_api", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case = await ifr.draft()
        inbound_id, unknown = uuid.uuid4(), uuid.uuid4()
        async with svc.runtime.sessions() as session:  # as the mail-intake handler opens it
            await session.execute(update(IfrRequest).where(IfrRequest.id == case["id"]).values(inbound_id=inbound_id))
            await session.commit()
        url = "/api/v1/ifr/mail-intake"
        params = [("inbound_id", str(inbound_id)), ("inbound_id", str(unknown))]
        found = await svc.client.get(url, params=params, headers=stack.auth("X24", "mail_operator"))
        assert found.status_code == 200, found.text
        assert found.json() == [
            {"inbound_id": str(inbound_id), "request_id": case["id"], "reference": case["reference"], "state": "draft"}
        ]
        assert "nhs_number" not in found.text
        trust = await svc.client.get(url, params=params, headers=stack.auth("RRV", "mail_operator"))
        assert trust.status_code == 404
        clinician = await svc.client.get(url, params=params, headers=stack.auth("RRV", "clinician"))
        assert clinician.status_code == 403
        none_asked = await svc.client.get(url, headers=stack.auth("X24", "mail_operator"))
        assert none_asked.status_code == 422 and none_asked.json()["errors"][0]["field"] == "inbound_id"
        audit = svc.runtime.tables.audit
        async with svc.runtime.sessions() as session:
            actors = (
                await session.scalars(
                    audit.select()
                    .with_only_columns(audit.c.actor)
                    .where(audit.c.entity_type == "ifr_request", audit.c.action == "list")
                )
            ).all()
        assert actors
