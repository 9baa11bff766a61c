"""The gateway checks who sent a mail (SPF, DKIM, DMARC) against the dev DNS zone, with the real
libraries: a forged nhs.net sender is refused at SMTP (5.7.26) with nothing stored and no reply to the
forged address; a signed one from the same server is accepted with its results recorded; a changed
signed message fails; a mailbox set to `record` keeps what an enforcing one refuses; DNS that does not
answer is a 451 (try later), not a loss."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

import aiosmtplib
import pytest
from notification_helpers import FAST, database, send_to_gateway, signed
from sqlalchemy import select

from embedded_stack.mail_relay import read_messages
from embedded_stack.ports import free_port
from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.models import InboundMessage
from notification_service.gateway.sender_checks import use_resolver

MAILBOX = "england.ifr-casework@nhs.net"
ELSEWHERE = "127.0.0.2"  # a loopback address the dev zone's SPF does not name


def mail(sender: str, body: str = "Please find the clinic letter attached.") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = "IFR application"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@nhs.net>"
    message["Date"] = "Wed, 02 Dec 2026 09:00:00 +0000"
    message.set_content(body)
    return message.as_bytes(policy=SMTP_POLICY)


@asynccontextmanager
async def gateway(stack: TestStack, **settings: Any) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database("sender_checks"), **FAST, **settings) as svc:
        await eventually(lambda: listening(stack.layout.ports.inbound))  # the gateway starts beside the API
        yield svc


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def inbound_of(svc: RunningService, sender: str) -> list[InboundMessage]:
    async with svc.runtime.sessions() as session:
        return list((await session.scalars(select(InboundMessage).where(InboundMessage.sender == sender))).all())


async def refusals_of(svc: RunningService, sender: str) -> list[dict[str, Any]]:
    audit = svc.runtime.tables.audit
    async with svc.runtime.sessions() as session:
        rows = await session.execute(
            select(audit.c.reason, audit.c.detail).where(audit.c.action == "refuse_unverified")
        )
        return [{"reason": r.reason, **r.detail} for r in rows if r.detail.get("sender") == sender]


def replies_to(stack: TestStack, sender: str) -> list[Any]:
    return [m for m in read_messages(stack.layout.mail) if m["To"] == sender]


async def refused_with(stack: TestStack, raw: bytes, sender: str, code: int) -> str:
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send_to_gateway(stack, raw, sender, [MAILBOX], from_address=ELSEWHERE)
    assert refused.value.code == code
    return refused.value.message


def new_sender() -> str:
    return f"dr.{uuid.uuid4().hex[:8]}@nhs.net"


async def test_a_forged_sender_is_refused_and_a_signed_one_accepted(stack: TestStack) -> None:
    async with gateway(stack) as svc:
        forged = new_sender()
        message = await refused_with(stack, mail(forged), forged, 550)
        assert message.startswith("5.7.26") and "dmarc=fail" in message
        assert await inbound_of(svc, forged) == []
        [refusal] = await eventually(lambda: refusals_of(svc, forged))
        assert (refusal["spf"], refusal["dkim"], refusal["dmarc"]) == ("fail", "none", "fail")
        desk = await svc.client.get(
            "/api/v1/inbound-mail/refused", params={"sender": forged}, headers=stack.auth("X24", "mail_operator")
        )
        [listed] = [r for r in desk.json()["items"] if r["sender"] == forged]
        assert "could not be verified" in listed["reason"]  # the mail desk sees it with the reason

        # the same server, the message signed by the From domain's key: DKIM passes, aligned, so DMARC does
        genuine = new_sender()
        await send_to_gateway(stack, signed(stack, mail(genuine)), genuine, [MAILBOX], from_address=ELSEWHERE)
        [record] = await eventually(lambda: inbound_of(svc, genuine))
        assert {k: record.sender_auth[k] for k in ("spf", "dkim", "dmarc")} == {
            "spf": "fail",
            "dkim": "pass",
            "dmarc": "pass",
        }
        assert "header.d=nhs.net" in record.sender_auth["authentication_results"]
        served = await svc.client.get(f"/api/v1/inbound-mail/{record.id}", headers=stack.auth("X24", "admin"))
        assert served.json()["sender_auth"]["dmarc"] == "pass"

        # signed, then changed on the way: the signature no longer verifies
        tampered = new_sender()
        raw = signed(stack, mail(tampered)).replace(b"clinic letter", b"clinic l3tter")
        assert "dkim=fail" in await refused_with(stack, raw, tampered, 550)
        assert await inbound_of(svc, tampered) == []

        # sent from the address the domain's SPF names, unsigned: SPF passes, aligned
        local = new_sender()
        await send_to_gateway(stack, mail(local), local, [MAILBOX])
        [record] = await eventually(lambda: inbound_of(svc, local))
        assert (record.sender_auth["spf"], record.sender_auth["dmarc"]) == ("pass", "pass")

        await asyncio.sleep(1.0)  # time for any reply to have gone out: none may, to a forged address
        assert replies_to(stack, forged) == [] and replies_to(stack, tampered) == []
        assert len(replies_to(stack, genuine)) == 1  # the acknowledgement, to the verified sender


async def test_a_recording_mailbox_keeps_what_an_enforcing_one_refuses(stack: TestStack) -> None:
    async with gateway(stack, inbound_sender_checks={MAILBOX.upper(): "record"}) as svc:
        forged = new_sender()
        await send_to_gateway(stack, mail(forged), forged, [MAILBOX], from_address=ELSEWHERE)
        [record] = await eventually(lambda: inbound_of(svc, forged))
        assert (record.sender_auth["spf"], record.sender_auth["dmarc"]) == ("fail", "fail")
    async with gateway(stack, inbound_sender_check="off") as svc:
        unchecked = new_sender()
        await send_to_gateway(stack, mail(unchecked), unchecked, [MAILBOX], from_address=ELSEWHERE)
        [record] = await eventually(lambda: inbound_of(svc, unchecked))
        assert record.sender_auth is None


async def test_dns_that_does_not_answer_is_a_451_not_a_loss(stack: TestStack) -> None:
    try:
        async with gateway(stack, inbound_dns_server=f"127.0.0.1:{free_port()}") as svc:
            sender = new_sender()
            message = await refused_with(stack, mail(sender), sender, 451)
            assert "try again later" in message
            assert await inbound_of(svc, sender) == []
    finally:
        use_resolver(stack.dns.address)  # the resolver is the process's: give the next tests the dev zone
