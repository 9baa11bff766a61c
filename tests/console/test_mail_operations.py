"""The mail desk in the browser: a notification the relay refused for its one recipient is found by its
case reference, with its attempts and the relay's answer, sent again from its page and delivered
once (a second tab's stale button changes nothing); a template edit whose subject would print the NHS
number is refused at the subject field, a good one is stored as the next version and previewed with
the sample data; received mail is listed accepted (with the IFR case it opened) and refused (with the
reason); someone who is not on the mail desk gets 403. Every page is checked by axe-core."""

from __future__ import annotations

import json
import ssl
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from playwright.async_api import expect

from embedded_stack.browser import ConsolePlatform
from embedded_stack.mail_relay import delivery_counts
from embedded_stack.testing import TestStack, envelope_for, eventually, publish

IFR_MAILBOX = "england.ifr-casework@nhs.net"
TEMPLATE = "ifr_request_screened_out"  # no other browser test reads this mail's wording
APPLICATION = {
    "nhs_number": "9990000018",  # 999: reserved for testing
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
    "urgency": "routine",
    "patient_consent": True,
}


async def failed_notification(stack: TestStack, reference: str, recipient: str) -> dict[str, Any]:
    """An IFR acknowledgement to one clinician whose mailbox the relay refuses (550: failed at once)."""
    request_id = str(uuid.uuid4())
    data = {
        "request_id": request_id,
        "reference": reference,
        "provider_ods": "RRV",
        "state": "acknowledged",
        "urgent": False,
        "clinician_email": recipient,
    }
    stack.relay.refuse_recipient(recipient, 550, "5.1.1 Mailbox unavailable")
    await publish(stack.bootstrap_servers, [envelope_for("ifr.request.acknowledged", request_id, data)])
    async with httpx.AsyncClient(base_url=stack.layout.service_url("notification")) as api:

        async def failed() -> dict[str, Any] | None:
            found = await api.get(
                "/api/v1/notifications",
                params={"case_reference": reference, "status": "failed"},
                headers=stack.auth("X24", "mail_operator"),
            )
            items = found.json()["items"]
            return items[0] if items else None

        notification: dict[str, Any] = await eventually(failed, within=60, interval=0.3)
    stack.relay.accept(recipient)  # the mailbox is fixed: a resend is delivered
    return notification


def application_mail(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Dr A Clinician <{sender}>"
    message["To"] = IFR_MAILBOX
    message["Subject"] = "IFR application"
    message["Message-ID"] = f"<{uuid.uuid4()}@nhs.net>"
    message.set_content("Please see the attached application.")
    message.add_attachment(
        json.dumps(APPLICATION).encode(), maintype="application", subtype="json", filename="application.json"
    )
    return message


async def send_to_gateway(stack: TestStack, message: EmailMessage, sender: str) -> None:
    tls = ssl.create_default_context(cafile=str(stack.layout.certs / "relay-cert.pem"))
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=stack.layout.ports.inbound, start_tls=True, tls_context=tls, timeout=10
    ) as smtp:
        await smtp.send_message(message, sender=sender, recipients=[IFR_MAILBOX])


async def case_opened(stack: TestStack, sender: str) -> dict[str, Any]:
    """The IFR case the accepted mail opened (ifr-service consumes mail.received)."""
    operator = stack.auth("X24", "mail_operator")
    async with (
        httpx.AsyncClient(base_url=stack.layout.service_url("notification")) as mail,
        httpx.AsyncClient(base_url=stack.layout.service_url("ifr")) as ifr,
    ):

        async def opened() -> dict[str, Any] | None:
            received = (await mail.get("/api/v1/inbound-mail", params={"sender": sender}, headers=operator)).json()
            if not received["items"]:
                return None
            ids = [("inbound_id", m["inbound_id"]) for m in received["items"]]
            cases = (await ifr.get("/api/v1/ifr/mail-intake", params=ids, headers=operator)).json()
            return cases[0] if cases else None

        found: dict[str, Any] = await eventually(opened, within=60, interval=0.3)
        return found


async def test_a_failed_notification_is_resent_once_from_its_page(platform: ConsolePlatform) -> None:
    stack = platform.stack
    run = uuid.uuid4().hex[:8]
    reference, recipient = f"IFR-M-{run}", f"dr.mail.{run}@nhs.net"
    failed = await failed_notification(stack, reference, recipient)

    operator = await platform.person("mail-operator", path="/mail/notifications")
    page = operator.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    await page.get_by_label("Case reference").fill(reference)
    await page.get_by_label("Failed").check()
    await page.get_by_role("button", name="Search").click()
    row = page.locator("tr", has_text=reference)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Failed")
    await expect(row).to_contain_text("550 5.1.1 Mailbox unavailable")
    await expect(row.locator("td").nth(5)).to_contain_text("1")
    await operator.check("mail notifications failed")

    await row.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"To {recipient}")
    await operator.check("mail notification failed")
    stale_tab = await operator.context.new_page()  # the same page opened twice, before either resend
    await stale_tab.goto(page.url)

    await page.get_by_label("Why it is sent again (optional)").fill("The mailbox was full; emptied now")
    await page.get_by_role("button", name="Send again").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("queued to be sent again")
    await operator.check("mail notification resent")

    await stale_tab.get_by_role("button", name="Send again").click()
    await expect(stale_tab.locator(".nhsuk-error-summary")).to_contain_text("changed since you opened it")

    async def sent() -> bool:
        await page.reload()
        return await page.locator(".nhsuk-tag", has_text="Sent").count() == 1

    await eventually(sent, within=60, interval=1.0)
    await expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    await operator.check("mail notification sent")
    assert delivery_counts(stack.layout.mail)[failed["message_id"]] == 1  # resent once, not twice
    await operator.close()


async def test_a_template_with_an_identifier_in_its_subject_is_refused_and_a_good_edit_is_versioned(
    platform: ConsolePlatform,
) -> None:
    operator = await platform.person("mail-operator", path="/mail/templates")
    page = operator.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mail templates")
    await operator.check("mail templates")
    await page.get_by_role("link", name=TEMPLATE, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(TEMPLATE)
    await expect(page.locator("#preview + div")).to_contain_text("IFR-2026-000456")  # the sample data
    before = int((await page.locator("input[name=version]").get_attribute("value")) or 0)
    await operator.check("mail template")

    subject = page.get_by_label("Subject")
    await subject.fill("IFR {{ reference }} for patient {{ nhs_number }}")
    await page.get_by_role("button", name=f"Store as version {before + 1}").click()
    await expect(page.locator("#subject-error")).to_contain_text("patient identifier")
    await expect(page.locator(".nhsuk-error-summary a[href='#subject']")).to_be_visible()
    await operator.check("mail template refused")

    await page.get_by_label("Subject").fill("IFR {{ reference }}: not taken to a panel")
    await page.get_by_label("Subject").press("Enter")  # the form is sent from the keyboard
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text(f"Version {before + 1} was stored")
    await expect(page.get_by_role("navigation", name="Versions of this template")).to_contain_text(
        f"Version {before + 1} (latest), shown below"
    )
    await expect(page.locator("#preview + div")).to_contain_text("IFR IFR-2026-000456: not taken to a panel")
    await operator.check("mail template stored")
    await page.get_by_role("link", name=f"Version {before}", exact=True).click()
    await expect(page.locator("#preview + div")).to_contain_text("IFR IFR-2026-000456: not accepted for panel")
    await operator.close()


async def test_inbound_mail_is_listed_accepted_with_its_case_and_refused_with_the_reason(
    platform: ConsolePlatform,
) -> None:
    stack = platform.stack
    run = uuid.uuid4().hex[:8]
    good, outsider = f"dr.apply.{run}@nhs.net", f"someone.{run}@gmail.com"
    await send_to_gateway(stack, application_mail(good), good)
    await send_to_gateway(stack, application_mail(outsider), outsider)
    case = await case_opened(stack, good)

    operator = await platform.person("mail-operator", path="/mail/inbound")
    page = operator.page
    accepted = page.locator("table[aria-labelledby=accepted] tr", has_text=good)
    await expect(accepted).to_contain_text("An application")
    await expect(accepted).to_contain_text(case["reference"])
    await expect(page.locator("table[aria-labelledby=accepted] tr", has_text=outsider)).to_have_count(0)
    refused = page.locator("table[aria-labelledby=refused] tr", has_text=outsider)
    await expect(refused).to_contain_text("not an accredited secure email domain")
    await expect(page.locator("main")).not_to_contain_text("9990000018")
    await operator.check("mail inbound")
    await page.get_by_label("Sender's email address (optional)").fill(outsider)
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("table[aria-labelledby=accepted]")).to_have_count(0)
    await expect(refused).to_have_count(1)
    await operator.close()


async def test_someone_not_on_the_mail_desk_gets_403(platform: ConsolePlatform) -> None:
    clinician = await platform.person("rrv-clinician")
    for path in ("/mail/notifications", "/mail/templates", f"/mail/templates/{TEMPLATE}", "/mail/inbound"):
        response = await clinician.page.goto(clinician.console_url + path)
        assert response is not None and response.status == 403, path
        await expect(clinician.page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    await clinician.check("mail forbidden")
    await clinician.close()
