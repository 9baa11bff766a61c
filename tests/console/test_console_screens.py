"""The officer's other IFR screens (filters, CSV, search by NHS number, the quarterly return, panels) and
the CDF and contract records the platform's mails link to, in the browser with axe-core on each."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
from playwright.async_api import expect
from samples import APPLICATION, prepare_cdf, submitted_ifr_case

from embedded_stack.browser import ConsolePlatform
from embedded_stack.mail_relay import read_messages


async def test_officer_filters_downloads_searches_and_reads_the_return(platform: ConsolePlatform) -> None:
    case = await submitted_ifr_case(platform.stack.layout.service_url("ifr"), platform.stack)
    officer = await platform.person("ifr-officer", path="/ifr/requests?stage=intake&urgency=routine")
    page = officer.page
    await expect(page.get_by_role("link", name=case["reference"], exact=True)).to_be_visible()
    await expect(page.locator(".nhsuk-body-l")).to_contain_text(re.compile(r"\d+ cases?:"))
    await officer.check("officer worklist filtered")
    async with page.expect_download() as download:
        await page.get_by_role("link", name=re.compile("Download these cases")).click()
    csv = (await (await download.value).path()).read_text()
    assert csv.splitlines()[0].startswith("id,reference") and case["reference"] in csv

    await page.get_by_role("link", name="Find a case by NHS number or reference").click()
    await officer.check("search page")
    await page.get_by_label("NHS number or case reference").fill("999 000 0018")  # the example's patient
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("link", name=case["reference"])).to_be_visible()
    assert "9990000018" not in page.url and "999" not in page.url  # posted, never in the address
    await officer.check("search results")
    await page.get_by_label("NHS number or case reference").fill("9990000019")  # a wrong check digit
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#query-error")).to_be_visible()
    await officer.check("search with a problem")

    await officer.open("/ifr/reports/quarterly")
    await expect(page.get_by_role("heading", name="Totals")).to_be_visible()
    received = page.locator("tr", has_text="Received").first.locator("td").nth(1)
    assert int(await received.inner_text()) >= 1
    await officer.check("quarterly return")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download the return as CSV").click()
    assert "section" in (await (await download.value).path()).read_text().splitlines()[0]

    await officer.open("/ifr/panels")
    await officer.check("panels list")
    await officer.close()


async def wait_for_link(relay: Any, subject: str, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for message in read_messages(relay):
            if message["Subject"] == subject:
                text = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/cdf/applications/\S+", text).group(0)  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no mail {subject!r} within {within_s}s")


async def test_the_cdf_approval_mail_link_and_the_contract_records_open(platform: ConsolePlatform) -> None:
    async with httpx.AsyncClient(base_url=platform.stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, platform.stack)
        created = await cdf.post(
            "/api/v1/cdf/applications", json=APPLICATION, headers=platform.stack.auth("RRV", "clinician")
        )
    assert created.status_code == 201, created.text
    application = created.json()
    link = await wait_for_link(platform.stack.layout.mail, f"CDF application {application['reference']}: approved")
    assert link.startswith(platform.console_url)
    lead = await platform.person("rrv-cdf-lead", path=link.removeprefix(platform.console_url))
    await expect(lead.page.get_by_role("heading", level=1)).to_contain_text(application["drug_name"])
    await expect(lead.page.get_by_role("main").get_by_text("Approved", exact=True).first).to_be_visible()
    await lead.check("cdf application from the mail link")
    outsider = await platform.person("rj1-cdf-lead")
    response = await outsider.page.goto(link)
    assert response is not None and response.status == 404
    await outsider.close()
    await lead.open("/cdf/applications")
    await expect(lead.page.get_by_role("link", name=application["reference"])).to_be_visible()
    await lead.check("cdf applications list")
    await lead.close()

    finance = await platform.person("contract-manager", path="/forecast-outturn")
    await finance.check("forecast outturn form")
    await finance.page.get_by_label("Trust ODS code").fill("RRV")
    await finance.page.get_by_label("Financial year").fill("2026")  # not a financial year
    await finance.page.get_by_role("button", name="Show").click()
    await expect(finance.page.locator(".nhsuk-error-summary")).to_be_visible()  # the API's problem, shown
    await finance.check("forecast outturn with a problem")
    await finance.open("/validation-queries")
    await finance.check("validation queries")
    await finance.close()
