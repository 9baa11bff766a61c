"""Unapproved use in the browser: a trust's SACT shows a CDF drug given with no approval; the mail's link
opens the detection; the trust's CDF lead answers (a problem shown at its field first, then an approval
reference, and an explanation typed and sent from the keyboard); the CDF manager accepts one and
challenges the other; another trust's lead gets 404. Every page is checked by axe-core."""

from __future__ import annotations

import asyncio
import io
import random
import re
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from playwright.async_api import expect
from samples import APPLICATION, prepare_cdf

from cdf_service.synthetic.national import Course, seed_entries, two_cycle_course
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.browser import ConsolePlatform
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack

ENTRY = "CDF-PEMBRO-NSCLC-1L"


def unapproved(nhs_number: str) -> Course:
    return two_cycle_course(seed_entries()[ENTRY], "RRV", nhs_number, "1234567", approved=False)


async def detection_links(mail: Path, submission_id: str, count: int, within_s: float = 120) -> list[str]:
    """The links of the unapproved-use mails about one submission (to the trust's two mailboxes)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        links = set()
        for message in read_messages(mail):
            text = message.get_body(preferencelist=("plain",)).get_content()
            if f"SACT-RRV-{submission_id}" in text:
                links.add(re.search(r"https?://\S+/cdf/unapproved-uses/\S+", text).group(0))  # type: ignore[union-attr]
        if len(links) >= count:
            return sorted(links)
        await asyncio.sleep(0.5)
    raise AssertionError(f"no {count} unapproved-use mails for {submission_id} within {within_s}s")


async def mail_link(mail: Path, subject: str, detection_id: str, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for message in read_messages(mail):
            text = message.get_body(preferencelist=("plain",)).get_content()
            if message["Subject"] == subject and detection_id in text:
                return re.search(r"https?://\S+/cdf/unapproved-uses/\S+", text).group(0)  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no mail {subject!r} for {detection_id} within {within_s}s")


async def challenge_query(stack: TestStack, detection_id: str, within_s: float = 60) -> dict:
    """contract-service's validation query raised by the challenge of one detection."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=stack.layout.service_url("contract")) as contract:
        while time.monotonic() < deadline:
            got = await contract.get(
                "/api/v1/validation-queries",
                params={"provider": "RRV", "limit": 500},
                headers=stack.auth("X24", "contract_manager"),
            )
            found = [q for q in got.json()["items"] if q["detection_id"] == detection_id]
            if found:
                return found[0]
            await asyncio.sleep(0.5)
    raise AssertionError(f"no validation query for detection {detection_id} within {within_s}s")


async def test_an_unapproved_use_is_answered_accepted_and_challenged(platform: ConsolePlatform) -> None:
    stack = platform.stack
    first, second = (nhs_number_for(random.randrange(20_000, 99_999)) for _ in range(2))
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, stack)
        buffer = io.StringIO()
        write_sact_csv(
            buffer, [unapproved(first), unapproved(second)], date.today() - timedelta(days=1), random.Random(2)
        )
        posted = await cdf.post(
            "/api/v1/sact/submissions",
            params={"provider_ods": "RRV", "period": date.today().strftime("%Y-%m"), "submission_id": uuid.uuid4().hex},
            content=buffer.getvalue().encode(),
            headers={**stack.auth("RRV", "trust_cdf_lead"), "Content-Type": "text/csv"},
        )
        assert posted.status_code == 202, posted.text
        submission_id = posted.json()["id"]
        for _ in range(600):  # processed before the approval below exists, or SACT would match it
            got = await cdf.get(f"/api/v1/sact/submissions/{submission_id}", headers=stack.auth("X24", "cdf_manager"))
            if got.json()["status"] == "processed":
                break
            await asyncio.sleep(0.2)
        assert got.json()["matched"].get("unapproved") == 2, got.text
        # the first patient's approval, applied for since (the reference the trust will give)
        body = {**APPLICATION, "nhs_number": first, "planned_start": date.today().isoformat()}
        applied = await cdf.post(
            "/api/v1/cdf/applications",
            json=body,
            headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert applied.status_code == 201 and applied.json()["status"] == "approved", applied.text
    reference = applied.json()["reference"]
    links = await detection_links(stack.layout.mail, submission_id, 2)
    assert all(link.startswith(platform.console_url) for link in links)

    # the trust's CDF lead follows a mail's link: signed in, then the detection
    lead = await platform.person("rrv-cdf-lead", path=links[0].removeprefix(platform.console_url))
    page = lead.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pembrolizumab given without approval")
    rows = page.locator(".nhsuk-summary-list")
    await expect(rows).to_contain_text(ENTRY)
    nhs_row = rows.locator(".nhsuk-summary-list__row", has_text="NHS number").locator("dd")
    nhs_shown = await nhs_row.inner_text()
    assert nhs_shown in (first, second)
    await lead.check("unapproved use detection for the trust")
    if nhs_shown == second:  # answer the first patient's with the reference: open the other mail's link
        await lead.open(links[1].removeprefix(platform.console_url))
        await expect(nhs_row).to_have_text(first)
    with_reference = page.url

    await page.get_by_role("button", name="Send the answer").click()
    await expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    await expect(page.locator("#approval_reference-error")).to_be_visible()
    await lead.check("unapproved use answer with a problem")
    await page.get_by_label("Approval reference").fill("CDF-NOSUCHREF")
    await page.get_by_role("button", name="Send the answer").click()
    await expect(page.locator("#approval_reference-error")).to_contain_text("not an approval of this trust")
    await page.get_by_label("Approval reference").fill(reference)
    await page.get_by_role("button", name="Send the answer").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Your answer was sent")
    await expect(rows).to_contain_text(reference)
    await expect(page.get_by_role("link", name="The approval it is linked to")).to_be_visible()
    await lead.check("unapproved use answered with a reference")

    # the worklist: both patients, their drug and row; the other one answered from the keyboard
    await lead.open("/cdf/unapproved-uses?status=open")
    table = page.locator("table")
    await expect(table).to_contain_text(second)
    await lead.check("unapproved use worklist for the trust")
    await page.locator("tr", has_text=second).get_by_role("link").click()
    await page.get_by_label("Or explain the use").focus()
    await page.keyboard.type("Given in error by the day unit; the patient has been told")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the button after the text box
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Your answer was sent")
    with_explanation = page.url
    async with page.expect_download() as download:
        await lead.open("/cdf/unapproved-uses")
        await page.get_by_role("link", name=re.compile("Download these detections")).click()
    exported = (await (await download.value).path()).read_text()
    assert submission_id in exported and first not in exported  # no NHS numbers in the spreadsheet
    await lead.close()

    outsider = await platform.person("rj1-cdf-lead")
    response = await outsider.page.goto(with_reference)
    assert response is not None and response.status == 404
    await outsider.close()

    # the CDF manager accepts the reference and challenges the explanation
    manager = await platform.person("cdf-manager", path="/cdf/unapproved-uses?status=answered&provider=RRV")
    page = manager.page
    await expect(page.locator("table")).to_contain_text("Pembrolizumab")
    await manager.check("unapproved use worklist for the commissioner")
    await manager.open(with_reference.removeprefix(platform.console_url))
    await page.get_by_role("button", name="Accept").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The answer was accepted")
    await manager.check("unapproved use accepted")
    await manager.open(with_explanation.removeprefix(platform.console_url))
    await expect(page.locator(".nhsuk-summary-list")).to_contain_text("Given in error by the day unit")
    await page.get_by_role("button", name="Challenge").click()
    await expect(page.locator("#reason-error")).to_be_visible()
    await manager.check("unapproved use challenge with a problem")
    await page.get_by_label("Reason for the challenge").fill("Not funded: no approval was in place")
    await page.get_by_role("button", name="Challenge").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The answer was challenged")
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Challenged")
    await manager.check("unapproved use challenged")
    await manager.open(with_reference.removeprefix(platform.console_url))  # the accepted one is closed
    await page.get_by_role("button", name="Close").click()
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Closed")
    await manager.close()

    # the challenge is mailed to the trust; its link opens the detection, to be answered again
    detection = with_explanation.split("?")[0].rsplit("/", 1)[-1]
    challenge_link = await mail_link(stack.layout.mail, "CDF unapproved use challenged at RRV", detection)
    lead = await platform.person("rrv-cdf-lead", path=challenge_link.removeprefix(platform.console_url))
    await expect(lead.page.locator(".nhsuk-tag").first).to_have_text("Challenged")
    await expect(lead.page.locator(".nhsuk-summary-list")).to_contain_text("Not funded: no approval was in place")
    await expect(lead.page.get_by_role("button", name="Send the answer")).to_be_visible()
    await lead.check("unapproved use challenged, from the mail, for the trust")
    await lead.close()

    # the challenge became a validation query in contract-service, about that detection
    query = await challenge_query(stack, detection)
    assert query["subject"].startswith("Unapproved CDF use of Pembrolizumab") and query["status"] == "raised"
    finance = await platform.person("rrv-finance", path=f"/validation-queries/{query['id']}")
    await expect(finance.page.locator(".nhsuk-summary-list")).to_contain_text("Unapproved CDF use of Pembrolizumab")
    await finance.check("validation query raised by a cdf challenge, for the trust")
    await finance.close()
