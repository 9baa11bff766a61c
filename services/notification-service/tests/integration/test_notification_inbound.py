"""The inbound gateway over real SMTP (STARTTLS), the mail.inbound topic and the inbound-mail contract."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import aiosmtplib
import pytest
from notification_helpers import FAST, database, send_to_gateway, signed
from sqlalchemy import func, select

from embedded_stack.event_checks import read_topic
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.models import InboundMessage, Notification

IFR_MAILBOX = "england.ifr-casework@nhs.net"
NHS_NUMBER = "9990000018"  # 999: reserved for testing
PDF = b"%PDF-1.4 a clinic letter\n%%EOF\n"
APPLICATION = {
    "NHS number": "999 000 0018",  # labels are accepted as keys too
    "patient_name": "Jane Example",
    "date_of_birth": "01/02/1960",
    "clinician_name": "Dr A Clinician",
    "registration_number": "7654321",
    "trust_ods_code": "rrv",
    "treatment_name": "Examplimab",
    "opcs4_code": "X72.1",
    "diagnosis": "Example condition",
    "diagnosis_icd10": "C34.1",
    "case_for_exceptionality": "Differs from others with the condition.",
    "urgency": "urgent",
    "urgency_reason": "rapid progression",
    "patient_consent": True,
}
FORM = """Dear IFR team,

NHS number: 999 000 0018
Patient name: Jane Example
Date of birth: 1960-02-01
Clinician name: Dr A Clinician
Registration number: 7654321
Trust ODS code: RRV
Treatment name: Examplimab
dm+d code: 3762811000001103
Diagnosis: Example condition
Diagnosis ICD-10: C34.1
Case for exceptionality: The patient differs from others.
Urgency: Routine

--
Dr A Clinician
"""


@pytest.fixture(scope="module")
async def gateway(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database("inbound"), **FAST) as svc:
        yield svc


def application_mail(
    sender: str, subject: str, attachments: bool = True, body: str = "Please see attached.", **headers: str
) -> bytes:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message["From"] = f"Dr A Clinician <{sender}>"
    message["To"] = IFR_MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@nhs.net>"
    message["Date"] = "Mon, 04 May 2026 10:00:00 +0100"
    message.set_content(body)
    if attachments:
        message.add_attachment(
            json.dumps(APPLICATION).encode(), maintype="application", subtype="json", filename="application.json"
        )
        message.add_attachment(PDF, maintype="application", subtype="pdf", filename="../../letter.pdf")
    return bytes(message).replace(b"\n", b"\r\n")


def message_id_of(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=default_policy)["Message-ID"])


async def received_events(stack: TestStack, sender: str) -> list[dict[str, Any]]:
    records = await read_topic(stack.bootstrap_servers, "mail.inbound", idle_s=0.3)
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e["type"] == "mail.received" and e["data"]["sender"] == sender]


def replies_to(stack: TestStack, message_id: str) -> list[EmailMessage]:
    return [m for m in read_messages(stack.layout.mail) if m["In-Reply-To"] == message_id]


async def stored(svc: RunningService, sender: str) -> int:
    async with svc.runtime.sessions() as session:
        query = select(func.count()).select_from(InboundMessage).where(InboundMessage.sender == sender)
        return int(await session.scalar(query) or 0)


async def published(svc: RunningService, sender: str) -> int:
    """`mail.received` events the gateway wrote to its outbox for this sender (published or not yet)."""
    outbox = svc.runtime.tables.outbox
    async with svc.runtime.sessions() as session:
        query = (
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.event_type == "mail.received", outbox.c.envelope["data"]["sender"].astext == sender)
        )
        return int(await session.scalar(query) or 0)


async def marker_mail_through(stack: TestStack) -> None:
    """Send a fresh application mail after the one under test and wait for its acknowledgement at the relay
    and its `mail.received` on the topic. It takes the same way: the same gateway, the reply queue (sent in
    queue order) and the outbox (published in order). A reply or an event the earlier mail caused is out
    by then; counting before it would count nothing on a slow machine."""
    sender = f"marker.{uuid.uuid4().hex[:8]}@nhs.net"
    raw = application_mail(sender, "IFR application (marker)")
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    await eventually(lambda: replies_to(stack, message_id_of(raw)), within=60)
    await eventually(lambda: received_events(stack, sender), within=60)


async def test_mail_for_an_unknown_mailbox_is_refused_at_rcpt(stack: TestStack, gateway: RunningService) -> None:
    raw = application_mail("a.clinician@nhs.net", "IFR application")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_to_gateway(stack, raw, "a.clinician@nhs.net", ["somebody.else@nhs.net"])
    assert refused.value.recipients[0].code == 550


async def test_the_gateway_requires_starttls(stack: TestStack, gateway: RunningService) -> None:
    raw = application_mail("a.clinician@nhs.net", "IFR application")
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send_to_gateway(stack, raw, "a.clinician@nhs.net", [IFR_MAILBOX], start_tls=False)
    assert refused.value.code == 530


async def test_mail_from_outside_the_secure_domains_is_refused_with_a_reply_and_nothing_published(
    stack: TestStack, gateway: RunningService
) -> None:
    sender = f"someone.{uuid.uuid4().hex[:8]}@gmail.com"
    raw = application_mail(sender, f"IFR for {NHS_NUMBER}")
    original_id = message_id_of(raw)
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])

    (reply,) = await eventually(lambda: replies_to(stack, original_id))
    assert reply["To"] == sender
    assert reply["Subject"].startswith("[secure] Not accepted")  # NHSmail encrypts outside secure domains
    assert NHS_NUMBER not in reply.as_string()
    text = " ".join(str(reply.get_body(("plain",)).get_content()).split())  # type: ignore[union-attr]
    assert "the sender's domain is not an accredited secure email domain" in text
    assert await stored(gateway, sender) == 0
    assert await received_events(stack, sender) == []
    assert await published(gateway, sender) == 0
    async with gateway.runtime.sessions() as session:
        (queued,) = (await session.scalars(select(Notification).where(Notification.recipient == sender))).all()
    assert (queued.source_event_type, queued.template, queued.in_reply_to) == (
        "mail.refused",
        "mail_refusal",
        original_id,
    )


async def test_a_refusal_is_listed_with_its_reason_for_the_mail_operators_and_no_content(
    stack: TestStack, gateway: RunningService
) -> None:
    sender = f"someone.{uuid.uuid4().hex[:8]}@gmail.com"
    raw = application_mail(sender, f"IFR for {NHS_NUMBER}")
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    await eventually(lambda: replies_to(stack, message_id_of(raw)))
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])  # the same message again: one record

    operator = stack.auth("X24", "mail_operator")
    listed = await gateway.client.get("/api/v1/inbound-mail/refused", params={"sender": sender}, headers=operator)
    assert listed.status_code == 200, listed.text
    (refusal,) = listed.json()["items"]
    assert (refusal["sender"], refusal["mailbox"], refusal["message_id"]) == (sender, IFR_MAILBOX, message_id_of(raw))
    assert refusal["reason"] == "the sender's domain is not an accredited secure email domain"
    assert NHS_NUMBER not in listed.text and "subject" not in refusal
    accepted = await gateway.client.get("/api/v1/inbound-mail", params={"sender": sender}, headers=operator)
    assert accepted.status_code == 200 and accepted.json()["items"] == []  # refused mail is not received mail
    provider = await gateway.client.get("/api/v1/inbound-mail/refused", headers=stack.auth("RRV", "trust_cdf_lead"))
    assert provider.status_code == 404
    analyst = await gateway.client.get("/api/v1/inbound-mail/refused", headers=stack.auth("X24", "national_analyst"))
    assert analyst.status_code == 403
    audit = gateway.runtime.tables.audit
    async with gateway.runtime.sessions() as session:
        lists = (
            await session.execute(
                select(audit.c.actor).where(audit.c.action == "list", audit.c.entity_type == "inbound_refusal")
            )
        ).all()
    assert lists


async def test_a_secure_from_header_sent_from_outside_is_refused_and_nothing_published(
    stack: TestStack, gateway: RunningService
) -> None:
    """A From header on nhs.net does not make a mail secure: the envelope sender (MAIL FROM) is outside.
    (Signed by nhs.net, so its sender is verified and the refusal may be mailed to it.)"""
    sender = f"dr.{uuid.uuid4().hex[:8]}@nhs.net"
    raw = signed(stack, application_mail(sender, "IFR application"))
    await send_to_gateway(stack, raw, f"bulk.{uuid.uuid4().hex[:8]}@example.com", [IFR_MAILBOX])
    (reply,) = await eventually(lambda: replies_to(stack, message_id_of(raw)))
    text = " ".join(str(reply.get_body(("plain",)).get_content()).split())  # type: ignore[union-attr]
    assert "not sent through an accredited secure email domain" in text
    assert await stored(gateway, sender) == 0
    assert await received_events(stack, sender) == []
    assert await published(gateway, sender) == 0


async def test_an_application_mail_is_stored_acknowledged_published_and_served(
    stack: TestStack, gateway: RunningService
) -> None:
    sender = f"dr.{uuid.uuid4().hex[:8]}@nhs.net"
    raw = application_mail(sender, f"IFR application for {NHS_NUMBER}, born 01/02/1960")
    original_id = message_id_of(raw)
    # mailbox names are case-insensitive; the event carries the RCPT TO address lower-cased
    await send_to_gateway(stack, raw, sender, ["England.IFR-Casework@NHS.net"])

    (ack,) = await eventually(lambda: replies_to(stack, original_id))
    (event,) = await eventually(lambda: received_events(stack, sender))
    data = event["data"]
    assert data["mailbox"] == IFR_MAILBOX and data["has_application"] is True
    assert data["application_problems"] == []
    assert NHS_NUMBER not in json.dumps(event) and "Jane Example" not in json.dumps(event)
    assert NHS_NUMBER not in data["subject"] and "01/02/1960" not in data["subject"]
    assert [(a["filename"], a["content_type"]) for a in data["attachments"]] == [
        ("application.json", "application/json"),
        ("letter.pdf", "application/pdf"),  # no path from the sender decides where anything goes
    ]
    inbound_id = event["subject"]
    assert data["inbound_id"] == inbound_id

    # the acknowledgement: threaded, our reference, no patient details
    assert ack["To"] == sender and ack["References"] == original_id
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "MAIL-" in ack["Subject"] and NHS_NUMBER not in ack.as_string() and "Jane" not in ack.as_string()

    # the contract with ifr-service
    service = stack.auth("X24", "service")
    served = await gateway.client.get(f"/api/v1/inbound-mail/{inbound_id}", headers=service)
    assert served.status_code == 200, served.text
    body = served.json()
    assert body["application"] == {
        "nhs_number": NHS_NUMBER,
        "patient_name": "Jane Example",
        "date_of_birth": "1960-02-01",
        "clinician_name": "Dr A Clinician",
        "registration_number": "7654321",
        "trust_ods_code": "RRV",
        "treatment_name": "Examplimab",
        "opcs4_code": "X72.1",
        "diagnosis": "Example condition",
        "diagnosis_icd10": "C34.1",
        "case_for_exceptionality": "Differs from others with the condition.",
        "urgency": "urgent",
        "urgency_reason": "rapid progression",
        "patient_consent": "yes",
    }
    assert body["application_problems"] == [] and body["sha256"] == data["sha256"]
    assert (body["mailbox"], body["sender"], body["message_id"]) == (IFR_MAILBOX, sender, original_id)
    assert body["subject"] == f"IFR application for {NHS_NUMBER}, born 01/02/1960"  # as sent, for staff
    assert [a["index"] for a in body["attachments"]] == [0, 1]
    letter = await gateway.client.get(f"/api/v1/inbound-mail/{inbound_id}/attachments/1", headers=service)
    assert (letter.status_code, letter.content, letter.headers["content-type"]) == (200, PDF, "application/pdf")
    assert (
        await gateway.client.get(f"/api/v1/inbound-mail/{inbound_id}/attachments/2", headers=service)
    ).status_code == 404

    # who may read it: commissioners with the IFR or service role; a trust is told it does not exist
    trust = await gateway.client.get(f"/api/v1/inbound-mail/{inbound_id}", headers=stack.auth("RRV", "ifr_officer"))
    assert trust.status_code == 404
    for path in (
        f"/api/v1/inbound-mail/{inbound_id}",
        "/api/v1/inbound-mail",
        f"/api/v1/inbound-mail/{inbound_id}/attachments/1",
    ):
        provider = await gateway.client.get(path, headers=stack.auth("RRV", "clinician"))  # a provider's own role
        assert provider.status_code == 404, (path, provider.text)
    clinician = await gateway.client.get(f"/api/v1/inbound-mail/{inbound_id}", headers=stack.auth("X24", "clinician"))
    assert clinician.status_code == 403
    audit = gateway.runtime.tables.audit
    async with gateway.runtime.sessions() as session:
        reads = (
            await session.execute(select(audit.c.action, audit.c.actor).where(audit.c.entity_id == inbound_id))
        ).all()
    assert {r.action for r in reads} >= {"receive", "read", "read_attachment"}

    # the same raw message delivered again: stored once, published once, acknowledged once
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    await marker_mail_through(stack)
    assert await stored(gateway, sender) == 1
    assert len(await received_events(stack, sender)) == 1
    assert await published(gateway, sender) == 1
    assert len(replies_to(stack, original_id)) == 1


async def test_a_body_form_is_extracted_and_its_problems_reported(stack: TestStack, gateway: RunningService) -> None:
    sender = f"dr.{uuid.uuid4().hex[:8]}@nhs.net"
    raw = application_mail(sender, "IFR application", attachments=False, body=FORM)
    original_id = message_id_of(raw)
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    (event,) = await eventually(lambda: received_events(stack, sender))
    assert event["data"]["application_problems"] == ["patient_consent: required"]
    body = (
        await gateway.client.get(f"/api/v1/inbound-mail/{event['subject']}", headers=stack.auth("X24", "admin"))
    ).json()
    assert body["application"]["dmd_code"] == "3762811000001103" and "patient_consent" not in body["application"]
    assert body["application_problems"] == ["patient_consent: required"] and body["attachments"] == []
    (ack,) = await eventually(lambda: replies_to(stack, original_id))
    assert "patient_consent: required" in str(ack.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def test_only_allowed_attachments_are_stored_and_the_others_named_in_the_reply(
    stack: TestStack, gateway: RunningService
) -> None:
    sender = f"dr.{uuid.uuid4().hex[:8]}@nhs.net"
    message = message_from_bytes(application_mail(sender, "IFR application"), policy=default_policy)
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf.exe")
    message.add_attachment(b"MZ\x90\x00 a program", maintype="application", subtype="pdf", filename="scan.pdf")
    raw = bytes(message).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    (event,) = await eventually(lambda: received_events(stack, sender))
    refused = [
        "invoice.pdf.exe: not kept: a PDF file must be named *.pdf",
        "scan.pdf: not kept: only PDF, Word (DOCX) and JSON files are accepted",
    ]
    assert [a["filename"] for a in event["data"]["attachments"]] == ["application.json", "letter.pdf"]
    assert event["data"]["application_problems"] == refused
    served = await gateway.client.get(f"/api/v1/inbound-mail/{event['subject']}", headers=stack.auth("X24", "admin"))
    assert [a["filename"] for a in served.json()["attachments"]] == ["application.json", "letter.pdf"]
    assert served.json()["application_problems"] == refused
    (ack,) = await eventually(lambda: replies_to(stack, message_id_of(raw)))
    text = " ".join(str(ack.get_body(("plain",)).get_content()).split())  # type: ignore[union-attr]
    assert f"These attachments were not kept: {'; '.join(refused)}." in text


async def test_an_auto_reply_is_neither_stored_nor_answered(stack: TestStack, gateway: RunningService) -> None:
    sender = f"out.of.office.{uuid.uuid4().hex[:8]}@nhs.net"
    raw = application_mail(sender, "Automatic reply: away", attachments=False, Auto_Submitted="auto-replied")
    await send_to_gateway(stack, raw, sender, [IFR_MAILBOX])
    await marker_mail_through(stack)
    assert await stored(gateway, sender) == 0
    assert replies_to(stack, message_id_of(raw)) == []
    assert await received_events(stack, sender) == []
    metrics = (await gateway.client.get("/metrics")).text
    assert 'notification_inbound_mail_total{outcome="ignore"}' in metrics
