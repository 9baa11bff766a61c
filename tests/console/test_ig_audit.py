"""The information-governance audit in the browser: an IFR officer reads a patient's case, a CDF manager
the patient's CDF application and the mail about it; the IG lead enters the patient's NHS number (a
Modulus 11 problem at the field first) and sees those reads from three services in one timeline, then
what one user looked at, and downloads both as CSV (posted: the NHS number is never in a URL). A user
without the IG role gets 403 from the page and from every service's API. Every page is checked by axe."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import httpx
from playwright.async_api import expect
from samples import APPLICATION, prepare_cdf

from casework.services import SERVICE_NAMES
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.browser import ConsolePlatform
from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE


async def ifr_case(stack: TestStack, nhs_number: str) -> dict:
    """ifr-service's example application, for this patient, submitted by an RRV clinician."""
    headers = stack.auth("RRV", "clinician")
    body = {**APPLICATION_EXAMPLE, "patient": {**APPLICATION_EXAMPLE["patient"], "nhs_number": nhs_number}}
    async with httpx.AsyncClient(base_url=stack.layout.service_url("ifr"), headers=headers) as ifr:
        draft = await ifr.post("/api/v1/ifr/requests", json=body)
        assert draft.status_code == 201, draft.text
        version = draft.json()["version"]
        submitted = await ifr.post(
            f"/api/v1/ifr/requests/{draft.json()['id']}/submit", headers={"If-Match": f'W/"{version}"'}
        )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


async def cdf_application(stack: TestStack, nhs_number: str) -> dict:
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, stack)
        applied = await cdf.post(
            "/api/v1/cdf/applications",
            json={**APPLICATION, "nhs_number": nhs_number},
            headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": uuid.uuid4().hex},
        )
    assert applied.status_code == 201 and applied.json()["status"] == "approved", applied.text
    return applied.json()


async def mail_about(stack: TestStack, reference: str, reader: dict[str, str], within_s: float = 120) -> str:
    """The id of a notification about `reference`, read once by `reader` (as the mail team reads it)."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=stack.layout.service_url("notification"), headers=reader) as mail:
        while time.monotonic() < deadline:
            listed = await mail.get("/api/v1/notifications", params={"case_reference": reference})
            assert listed.status_code == 200, listed.text
            if items := listed.json()["items"]:
                read = await mail.get(f"/api/v1/notifications/{items[0]['id']}")
                assert read.status_code == 200, read.text
                return str(items[0]["id"])
            await asyncio.sleep(0.5)
    raise AssertionError(f"no notification about {reference} within {within_s}s")


async def test_the_ig_lead_sees_who_read_a_patient_across_the_services(platform: ConsolePlatform) -> None:
    stack = platform.stack
    nhs_number = nhs_number_for(random.randrange(0, 20_000))
    case = await ifr_case(stack, nhs_number)
    application = await cdf_application(stack, nhs_number)
    mail_id = await mail_about(stack, application["reference"], stack.auth("X24", "cdf_manager", sub="cdf-manager"))

    # the reads: an IFR officer opens a case of this patient, a CDF manager the application
    officer = await platform.person("ifr-officer", path="/ifr/search")
    await officer.page.get_by_label("NHS number or case reference").fill(nhs_number)
    await officer.page.get_by_role("button", name="Search").click()
    await expect(officer.page.locator("main")).to_contain_text("1 case found")
    await officer.page.get_by_role("link", name=case["reference"]).click()
    await expect(officer.page.locator("main")).to_contain_text(case["reference"])
    manager = await platform.person("cdf-manager", path=f"/cdf/applications/{application['id']}")
    await expect(manager.page.locator("main")).to_contain_text(application["reference"])

    # a user without the IG role: 403 from the page, and from every service's API
    await officer.open("/audit")
    await expect(officer.page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    await officer.check("audit refused to an IFR officer")
    refused = await officer.page.request.get(platform.console_url + "/audit")
    assert refused.status == 403
    async with httpx.AsyncClient() as client:
        for name in SERVICE_NAMES:
            answer = await client.post(
                f"{stack.layout.service_url(name)}/api/v1/audit/patient",
                json={"nhs_number": nhs_number},
                headers=stack.auth("X24", "ifr_officer"),
            )
            assert answer.status_code == 403, (name, answer.text)

    # the IG lead: a Modulus 11 problem at the field, then the patient's timeline
    ig = await platform.person("ig-lead", path="/audit")
    page = ig.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Who read or changed a patient's records")
    await ig.check("audit: the patient search")
    await page.get_by_label("NHS number").fill(nhs_number[:9] + str((int(nhs_number[9]) + 1) % 10))
    await page.get_by_role("button", name="Show the audit trail").click()
    await expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    await expect(page.locator("#nhs_number-error")).to_contain_text("Enter a valid NHS number")
    await ig.check("audit: an NHS number that fails its check digit")
    assert nhs_number not in page.url and "nhs_number" not in page.url

    # the API's problem at its field: a range that ends before it starts
    await page.get_by_label("NHS number").fill(nhs_number)
    for prefix, day in (("since", "2"), ("until", "1")):
        await page.locator(f"#{prefix}-day").fill(day)
        await page.locator(f"#{prefix}-month").fill("12")
        await page.locator(f"#{prefix}-year").fill("2026")
    await page.get_by_role("button", name="Show the audit trail").click()
    await expect(page.locator("#until-error")).to_contain_text("To: must be after the start of the range")
    for prefix in ("since", "until"):
        for part in ("day", "month", "year"):
            await page.locator(f"#{prefix}-{part}").fill("")

    await page.get_by_label("NHS number").fill(f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}")
    await page.get_by_label("NHS number").press("Enter")  # the keyboard sends the form
    table = page.locator("table")
    await expect(table).to_be_visible()
    assert page.url.endswith("/audit")
    rows = table.locator("tbody tr")
    cdf_read = rows.filter(has_text="CDF application").filter(has_text=application["id"]).filter(has_text="cdf-manager")
    await expect(cdf_read.filter(has_text="Read")).to_have_count(1)
    ifr_search = rows.filter(has_text="IFR").filter(has_text="ifr-officer").filter(has_text="Searched for the patient")
    await expect(ifr_search).to_have_count(1)
    mail_read = rows.filter(has_text=mail_id).filter(has_text="cdf-manager")
    await expect(mail_read.filter(has_text="Read")).to_have_count(1)
    await expect(rows.filter(has_text="Saw in a list").filter(has_text="Mail")).to_have_count(1)
    await expect(page.locator("main")).not_to_contain_text("did not answer")
    await ig.check("audit: one patient's timeline across the services")

    async with page.expect_download() as download:
        await page.get_by_role("button", name="Download the whole trail (CSV)").click()
    exported = (await (await download.value).path()).read_text()
    assert str(application["id"]) in exported and mail_id in exported and "ifr-officer" in exported
    assert nhs_number not in exported
    assert page.url.endswith("/audit")

    # what one user looked at: the IFR officer's case read and search
    await ig.open("/audit/user")
    await page.get_by_label("User").fill("ifr-officer")
    await page.get_by_role("button", name="Show what they looked at").click()
    officer_rows = page.locator("table tbody tr")
    await expect(officer_rows.filter(has_text="IFR case").filter(has_text=case["id"])).not_to_have_count(0)
    await ig.check("audit: what one user looked at")
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Download the whole trail (CSV)").click()
    assert str(case["id"]) in (await (await download.value).path()).read_text()

    # the IG lead's own looks are in the trail too
    await page.get_by_label("User").fill("ig-lead")
    await page.get_by_role("button", name="Show what they looked at").click()
    await expect(page.locator("table tbody tr").filter(has_text="Looked at a patient's audit trail")).to_have_count(4)
    for person in (officer, manager, ig):
        await person.close()
