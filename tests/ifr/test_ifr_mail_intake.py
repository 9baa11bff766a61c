"""Applications by mail, end to end: a mail to the inbound gateway (notification-service, STARTTLS)
becomes a draft IFR case linked to the message; a mail from outside the secure domains is refused with
a reply saying why, and no case is opened."""

import json
import ssl
import uuid
from email.message import EmailMessage

import aiosmtplib
from ifr_http import Ifr

from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually

IFR_MAILBOX = "england.ifr-casework@nhs.net"


def application_mail(sender: str, patient_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = IFR_MAILBOX
    message["Subject"] = "Individual funding request"
    message["Message-ID"] = f"<{uuid.uuid4()}@test.nhs.net>"
    message.set_content("Please find the application attached.\n")
    fields = {
        "nhs_number": "943 476 5919",
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
        assert application["patient"]["nhs_number"] == "9434765919"
        assert application["clinician"]["trust_ods"] == "RRV"
        assert application["clinician"]["email"] == "sam.consultant@nhs.net"  # the sender
        assert application["treatment"]["dmd_code"] is None
        assert any(p.startswith("treatment.dmd_code") or p.startswith("dmd_code") for p in draft["intake_problems"])

        outsider = f"Outsider {uuid.uuid4().hex[:8]}"
        await send(stack, application_mail("someone@example.com", outsider))

        def refusal() -> list:
            return [m for m in read_messages(stack.layout.mail) if m["To"] == "someone@example.com"]

        [reply] = await eventually(refusal)
        assert "secure" in reply.get_body(("plain",)).get_content().lower()
        assert await drafts_for(ifr, outsider) == []
