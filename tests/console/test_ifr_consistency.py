"""IFR decision consistency in the browser: a national analyst finds the page in the menu, sees the region
whose approval rate for one treatment is set apart flagged (in words, in the chart and in the table), the
period's problems at their fields (the console's own and the API's), the CSV, and the quarterly return's
link to the same quarter; axe-core on each."""

from __future__ import annotations

import asyncio
import random
import re
import sys
from datetime import date
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from casework.identifiers import verhoeff_check_digit
from embedded_stack.browser import ConsolePlatform
from ifr_service.api.examples import APPLICATION_EXAMPLE
from ifr_service.domain.cohort import treatment_key

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "ifr-service" / "tests"))
from ifr_http import MEMBERS, REASONS, Ifr, application

# trust -> (region, approved, declined) for this run's treatment: East of England set apart
DECISIONS = {"RRV": ("Y56", 6, 1), "RTH": ("Y59", 6, 1), "RGT": ("Y61", 0, 7)}


def a_dmd_code() -> str:
    """A well-formed dm+d code of its own for this run (so other tests' requests are another treatment)."""
    base = f"{random.randrange(10**6, 10**7)}1000001" + "10"
    return base + str(verhoeff_check_digit(base))


async def seed(platform: ConsolePlatform, drug: str, code: str) -> None:
    """Each trust's requests decided by a panel of its region, the three trusts at once."""
    stack = platform.stack

    async def one_trust(client: httpx.AsyncClient, trust: str, region: str, approved: int, declined: int) -> None:
        ifr = Ifr(client, stack, trust=trust)
        panel = await ifr.panel(region=region)
        data = application(clinician={"trust_ods": trust}, treatment={"name": drug, "dmd_code": code})
        for outcome in ["approved"] * approved + ["declined"] * declined:
            case = await ifr.act(await ifr.screening(data), "list-for-panel", {"panel_id": panel["id"]})
            body = {"outcome": outcome, "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]}
            await ifr.act(case, "decide", body)

    async with httpx.AsyncClient(base_url=stack.layout.service_url("ifr"), timeout=30) as client:
        await asyncio.gather(*(one_trust(client, trust, *plan) for trust, plan in DECISIONS.items()))


async def from_the_menu(page: Page, name: str) -> None:
    """Follow a menu link, opening the header's "More" first when the menu has folded it there."""
    link = page.locator(".nhsuk-header__navigation").get_by_role("link", name=name, exact=True)
    if not await link.is_visible():
        await page.locator(".nhsuk-header__navigation").get_by_role("button", name=re.compile("More")).click()
    await link.click()


async def test_an_analyst_sees_the_region_set_apart_flagged(platform: ConsolePlatform) -> None:
    code = a_dmd_code()
    drug = f"Consistumab {code[-4:]}"
    await seed(platform, drug, code)

    analyst = await platform.person("national-analyst")
    page = analyst.page
    await from_the_menu(page, "IFR decision consistency")
    await expect(page.get_by_role("heading", name="IFR decision consistency", level=1)).to_be_visible()

    callout = page.locator(".nhsuk-card--warning")
    flags = callout.locator("li", has_text=drug)
    await expect(flags).to_have_count(2)  # the region, and the one panel that sits for it
    await expect(flags.nth(0)).to_contain_text("East of England")
    await expect(flags.nth(0)).to_contain_text("approved 0 of 7 (0%), lower than the other regions' 12 of 14 (86%)")
    await expect(flags.nth(1)).to_contain_text("(panel, East of England)")
    chart = page.get_by_role("img", name=f"Approval rate for {drug} by region, with 95% intervals")
    await expect(chart).to_be_visible()
    await expect(chart.locator('[data-flagged="true"]')).to_have_count(1)
    await expect(chart.locator('g[data-row="East of England"]')).to_have_attribute("data-flagged", "true")
    table = page.locator("table", has=page.locator("caption", has_text=f"{drug} by region"))
    east = table.locator("tr", has_text="East of England")
    await expect(east).to_have_class(re.compile("app-row--flagged"))
    await expect(east.locator("td").nth(2)).to_have_text("0")  # approved
    await expect(east.locator("td").nth(3)).to_have_text("7")  # declined
    await expect(east).to_contain_text("Flagged")
    await expect(table.locator("tr.app-row--flagged")).to_have_count(1)
    await analyst.check("decision consistency")

    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download the report as CSV").click()
    text = (await (await download.value).path()).read_text()
    assert text.splitlines()[0] == "period_start,period_end,treatment,grouping,group,measure,value"
    key = treatment_key(code, None, APPLICATION_EXAMPLE["clinical"]["diagnosis_icd10"])  # as the report groups
    assert f"{key},flag:region,Y61,declined,7" in text

    # a date that is not one: the console's own problem; a start after the end: the API's, at its field
    await page.locator("#start-day").fill("30")
    await page.locator("#start-month").fill("2")
    await page.locator("#start-year").fill("2026")
    await page.locator("#start-year").press("Enter")  # the keyboard sends the form
    await expect(page.locator(".nhsuk-error-summary")).to_contain_text("Received from must be a real date")
    await analyst.check("decision consistency with a date that is not one")
    today = date.today()
    for name, day in (("start", today), ("end", date(today.year - 1, 1, 1))):
        for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
            await page.locator(f"#{name}-{part}").fill(str(value))
    await page.get_by_role("button", name="Show").click()
    summary = page.locator(".nhsuk-error-summary")
    await expect(summary).to_contain_text("Received from: must be on or before end")
    await expect(summary.get_by_role("link")).to_have_attribute("href", "#start-day")
    await expect(page.locator(".nhsuk-error-message")).to_contain_text("must be on or before end")
    await analyst.check("decision consistency with the API's problem")

    # the quarterly return links to the same quarter's decisions
    await analyst.open("/ifr/reports/quarterly")
    await page.get_by_role("link", name="Decision consistency for the requests received this quarter").click()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    await expect(page.locator("#start-month")).to_have_value(str(quarter_start.month))
    await expect(page.get_by_text(f"Requests received from {quarter_start.day} ")).to_be_visible()
    await analyst.close()

    officer = await platform.person("ifr-officer")
    await from_the_menu(officer.page, "IFR decision consistency")
    await expect(officer.page.locator(".nhsuk-card--warning")).to_contain_text(drug)
    await officer.close()
