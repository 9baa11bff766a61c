"""A clinician applies to the Cancer Drugs Fund in the browser: chooses a drug on the national list, the
form is the entry's criteria as tick boxes with their wording, the API's problems show at their fields,
the answer comes at once (approved with its reference; not approved naming the unmet criterion); the
clinician's applications; withdrawal; another trust's clinician gets 404. Every page is checked by axe."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import httpx
from playwright.async_api import Page, expect
from samples import CLINICIAN, prepare_cdf

from cdf_service.synthetic.national import seed_entries
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.browser import ConsolePlatform

ENTRY = "CDF-PEMBRO-NSCLC-1L"


async def fill_patient(page: Page, nhs_number: str) -> None:
    await page.get_by_label("NHS number").fill(nhs_number)
    for prefix, day in (("date_of_birth", date(1961, 4, 12)), ("planned_start", date.today() + timedelta(days=7))):
        await page.locator(f"#{prefix}-day").fill(str(day.day))
        await page.locator(f"#{prefix}-month").fill(str(day.month))
        await page.locator(f"#{prefix}-year").fill(str(day.year))
    await page.get_by_label("Your GMC number").fill(CLINICIAN["gmc_number"])


async def test_a_clinician_applies_is_answered_at_once_and_withdraws(platform: ConsolePlatform) -> None:
    async with httpx.AsyncClient(base_url=platform.stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, platform.stack)
    criteria = [c for c in seed_entries()[ENTRY].criteria if c.mandatory]
    clinician = await platform.person("rrv-clinician", path="/cdf/apply")
    page = clinician.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Apply to the Cancer Drugs Fund")
    await clinician.check("cdf apply: the national list")
    await page.get_by_role("link", name=re.compile(rf"\({ENTRY}\)")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Apply for Pembrolizumab")
    for c in criteria:  # each mandatory criterion a tick box with its wording
        await expect(page.get_by_label(f"{c.code}: {c.text}", exact=True)).to_be_visible()
    await clinician.check("cdf apply: the entry's form")
    form_url = page.url

    # the API's problems at their fields
    await page.get_by_label("NHS number").fill("123")
    await page.get_by_role("button", name="Send the application").click()
    await expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    await expect(page.locator("#nhs_number-error")).to_be_visible()
    await expect(page.locator("#date_of_birth-error")).to_be_visible()
    await clinician.check("cdf apply: problems at their fields")

    # every mandatory criterion met: approved at once, with its reference
    await fill_patient(page, nhs_number_for(random.randrange(20_000, 99_999)))
    for c in criteria:
        await page.get_by_label(f"{c.code}: {c.text}", exact=True).check()
    consent = page.get_by_label(re.compile("The patient has consented"))
    await consent.focus()
    await page.keyboard.press("Space")  # a tick box from the keyboard
    await expect(consent).to_be_checked()
    await page.get_by_role("button", name="Send the application").click()
    await expect(page.locator(".nhsuk-panel")).to_contain_text("Approved")
    approved_reference = (await page.locator(".nhsuk-panel").inner_text()).split()[-1]
    approved_url = page.url.split("?")[0]
    await clinician.check("cdf apply: approved")

    # one mandatory criterion not ticked: not approved, naming it
    await page.goto(form_url)
    await fill_patient(page, nhs_number_for(random.randrange(20_000, 99_999)))
    for c in criteria[1:]:
        await page.get_by_label(f"{c.code}: {c.text}", exact=True).check()
    await page.get_by_label(re.compile("The patient has consented")).check()
    await page.get_by_role("button", name="Send the application").click()
    callout = page.get_by_role("main")
    await expect(callout).to_contain_text("Not approved")
    await expect(callout).to_contain_text(f"criterion {criteria[0].code} ({criteria[0].text}) is not met")
    await clinician.check("cdf apply: not approved")

    # the clinician's applications; withdrawing the approved one
    await clinician.open(f"/cdf/applications?clinician_gmc={CLINICIAN['gmc_number']}")
    await expect(page.get_by_role("link", name=approved_reference)).to_be_visible()
    await clinician.check("cdf applications of the clinician")
    await clinician.open(approved_url.removeprefix(platform.console_url))
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator("#reason-error")).to_be_visible()
    await page.get_by_label("Reason for withdrawing").fill("The patient chose another treatment")
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("withdrawn")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pembrolizumab: Withdrawn")
    await clinician.check("cdf application withdrawn")
    await clinician.close()

    outsider = await platform.person("rj1-clinician")
    response = await outsider.page.goto(approved_url)
    assert response is not None and response.status == 404
    await outsider.close()
