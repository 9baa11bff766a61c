"""Applications by mail, end to end: a mail to the inbound gateway (notification-service, STARTTLS)
becomes a draft IFR case linked to the message; a mail from outside the secure domains is refused with
a reply saying why, and no case is opened."""

import hashlib
import json
import ssl
import uuid
from email.message import EmailMessage

import aiosmtplib
from ifr_http import Ifr
from sqlalchemy import select

from embedded_stack.event_checks import read_topic
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, envelope_for, eventually, publish

IFR_MAILBOX = "england.ifr-casework@nhs.net"
CLINIC_LETTER = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def application_mail(sender: str, patient_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = IFR_MAILBOX
    message["Subject"] = "Individual funding request"
    message["Message-ID"] = f"<{uuid.uuid4()}@test.nhs.net>"
    message.set_content("Please find the application attached.\n")
    fields = {
        "nhs_number": "999 000 0018",
        "patient_name": patient_name,
        "date_of_birth": "01/02/1970",
        "clinician_name": "Dr Sam Consultant",
        "registration_number": "1234567",
        "trust_ods_code": "RRV",
        "treatment_name": "Examplimab",
        "dmd_code": "3762811000001104",  # fails its Verhoeff check: a problem for the case officer
        "diagnosis": "Rare vasculitis",
        "diagnosis_icd10": "M31.8",
        "case_for_exceptionality": "A genetic variant seen in under 1 in 10,000 patients.",
        "urgency": "routine",
        "patient_consent": "yes",
    }
    message.add_attachment(
        json.dumps(fields).encode(), maintype="application", subtype="json", filename="application.json"
    )
    message.add_attachment(CLINIC_LETTER, maintype="application", subtype="pdf", filename="clinic-letter.pdf")
    return message


async def send(stack: TestStack, message: EmailMessage) -> None:
    context = ssl.create_default_context(cafile=str(stack.layout.certs / "relay-cert.pem"))
    try:
        await aiosmtplib.send(
            message,
            hostname="127.0.0.1",
            port=stack.layout.ports.inbound,
            start_tls=True,
            tls_context=context,
            timeout=10,
        )
    except aiosmtplib.SMTPResponseException:
        pass  # a gateway may also refuse at the SMTP level; the reply and "no case" are what count


async def drafts_for(ifr: Ifr, patient_name: str) -> list[dict]:
    listed = await ifr.client.get("/api/v1/ifr/requests", params={"state": "draft", "limit": 500}, headers=ifr.officer)
    found = []
    for item in listed.json()["items"]:
        if item["source"] == "mail":
            case = (await ifr.get(item)).json()
            if case["application"]["patient"]["name"] == patient_name:
                found.append(case)
    return found


async def test_mail_application_becomes_a_draft_and_outsiders_are_refused(stack: TestStack) -> None:
    async with stack.service("notification", listen=True), stack.service("ifr") as svc:
        ifr = Ifr(svc.client, stack)
        patient = f"Mail Patient {uuid.uuid4().hex[:8]}"
        await send(stack, application_mail("sam.consultant@nhs.net", patient))

        [draft] = await eventually(lambda: drafts_for(ifr, patient))
        assert draft["state"] == "draft" and draft["inbound_id"]
        application = draft["application"]
        assert application["patient"]["nhs_number"] == "9990000018"
        assert application["clinician"]["trust_ods"] == "RRV"
        assert application["clinician"]["email"] == "sam.consultant@nhs.net"  # the sender
        assert application["treatment"]["dmd_code"] is None
        assert any(p.startswith("treatment.dmd_code") or p.startswith("dmd_code") for p in draft["intake_problems"])
        documents = (await svc.client.get(f"/api/v1/ifr/requests/{draft['id']}/documents", headers=ifr.officer)).json()
        assert [(d["filename"], d["sha256"]) for d in documents] == [
            ("clinic-letter.pdf", hashlib.sha256(CLINIC_LETTER).hexdigest())
        ]

        # the same message announced again (a new event id, e.g. a replay upstream) opens no second draft
        [original] = [
            json.loads(r.value)
            for r in await read_topic(stack.bootstrap_servers, "mail.inbound", idle_s=0.3)
            if json.loads(r.value)["data"]["inbound_id"] == draft["inbound_id"]
        ]
        again = envelope_for("mail.received", original["subject"], original["data"], source="notification")
        await publish(stack.bootstrap_servers, [again])

        async def handled() -> bool:
            inbox = svc.runtime.tables.inbox
            async with svc.runtime.sessions() as session:
                return bool(await session.scalar(select(inbox.c.event_id).where(inbox.c.event_id == again.id)))

        await eventually(handled)
        assert len(await drafts_for(ifr, patient)) == 1

        outsider = f"Outsider {uuid.uuid4().hex[:8]}"
        await send(stack, application_mail("someone@example.com", outsider))

        def refusal() -> list:
            return [m for m in read_messages(stack.layout.mail) if m["To"] == "someone@example.com"]

        [reply] = await eventually(refusal)
        assert "secure" in reply.get_body(("plain",)).get_content().lower()
        assert await drafts_for(ifr, outsider) == []
