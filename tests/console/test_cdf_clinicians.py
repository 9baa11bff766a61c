"""The trust's CDF lead confirms a consultant's registration and later revokes it, in the browser;
another trust's lead does not see it. Every page is checked by axe-core."""

from __future__ import annotations

import random

import httpx
from playwright.async_api import expect

from cdf_service.synthetic.people import gmc_number
from embedded_stack.browser import ConsolePlatform


async def test_the_lead_confirms_then_revokes_a_registration(platform: ConsolePlatform) -> None:
    stack = platform.stack
    gmc = gmc_number(random.Random())
    name = f"Dr Test {gmc}"
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        registered = await cdf.post(
            "/api/v1/cdf/clinicians",
            json={"trust_ods": "RRV", "gmc_number": gmc, "name": name, "email": f"dr.{gmc}@nhs.net"},
            headers=stack.auth("RRV", "clinician"),
        )
    assert registered.status_code == 201, registered.text

    lead = await platform.person("rrv-cdf-lead", path="/cdf/clinicians?status=pending")
    page = lead.page
    row = page.locator("tr", has_text=gmc)
    await expect(row).to_contain_text("Waiting for the trust's CDF lead")
    await lead.check("cdf clinicians pending")
    await row.get_by_role("button", name=f"Confirm {name} (GMC {gmc})").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("confirmed")
    await lead.open("/cdf/clinicians?status=confirmed")
    await expect(row).to_contain_text("Confirmed")
    await lead.check("cdf clinicians confirmed")
    await row.get_by_role("button", name=f"Revoke {name} (GMC {gmc})").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("revoked")
    await lead.open("/cdf/clinicians?status=revoked")
    await expect(row).to_contain_text("Revoked")
    await lead.close()

    outsider = await platform.person("rj1-cdf-lead", path="/cdf/clinicians")
    await expect(outsider.page.get_by_role("heading", level=1)).to_have_text("Clinicians registered for the CDF")
    await expect(outsider.page.locator("tr", has_text=gmc)).to_have_count(0)
    await outsider.close()
