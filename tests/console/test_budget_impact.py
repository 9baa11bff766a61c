"""The budget impact at decision time in the browser. The IFR panel's chair sees, on the decision page,
what funding the request does to the trust's high-cost drugs line (outturn, variance, the at-risk
margin, in words); a changed approved cost is worked out again before anything is recorded, and the
case then shows the figure kept with the decision. A clinician applying to the CDF sees what the
approval does to the trust's CDF line; a planned start in another year is worked out for that year;
the approval crossing the margin says so, and the application shows the figure to the CDF manager.
Every page is checked by axe."""

from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal

import httpx
from playwright.async_api import Page, expect
from samples import CLINICIAN, listed_ifr_case, prepare_cdf

from casework.financial_year import financial_year_of, fy_label, fy_start_year
from cdf_service.domain.national_list import EntryStatus
from cdf_service.synthetic.national import seed_entries
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.browser import ConsolePlatform
from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE

THIS_YEAR = financial_year_of(date.today()).financial_year
NEXT_YEAR = fy_label(fy_start_year(THIS_YEAR) + 1)
TERMS = {
    "schedules": [{"hub": "NW", "hub_name": "North West specialised commissioning"}],
    "service_lines": [
        {"code": "CARD01", "hub": "NW", "description": "Adult cardiac surgery", "price": "1000.00"}
        | {"activity_plan": ["10"] * 12}
    ],
}
MEMBERS = [
    {"member_id": "panel-chair", "name": "Dr Helen Okafor", "role": "chair", "voting": True},
    {"member_id": "panel-clinician", "name": "Dr Tom Reid", "role": "clinician", "voting": True},
    {"member_id": "panel-public-health", "name": "Dr Aisha Khan", "role": "public_health", "voting": True},
    {"member_id": "panel-lay-member", "name": "Margaret Ellis", "role": "lay_member", "voting": True},
]
# an entry open with no end to managed access, so a planned start next year is approved
ENTRY = min(
    (e for e in seed_entries().values() if e.status == EntryStatus.OPEN and e.managed_access_end is None),
    key=lambda e: e.entry_id,
)


async def rrv_line(stack: TestStack, fy: str, body: dict) -> None:
    """RRV's contract for the year with the line (an earlier run's of either will do)."""
    manager = stack.auth("X24", "contract_manager")
    async with httpx.AsyncClient(base_url=stack.layout.service_url("contract")) as api:
        made = await api.post(
            "/api/v1/contracts",
            json={"provider_ods": "RRV", "financial_year": fy, "title": "RRV contract", "terms": TERMS},
            headers=manager,
        )
        if made.status_code == 409:
            listed = await api.get("/api/v1/contracts", params={"provider": "RRV", "fy": fy}, headers=manager)
            contract_id = listed.json()["items"][0]["id"]
        else:
            assert made.status_code == 201, made.text
            contract_id = made.json()["id"]
        line = await api.post(f"/api/v1/contracts/{contract_id}/budget-lines", json=body, headers=manager)
        assert line.status_code in (201, 409), line.text


async def test_the_panel_sees_the_budget_impact_and_the_decision_keeps_it(platform: ConsolePlatform) -> None:
    stack = platform.stack
    dmd = APPLICATION_EXAMPLE["treatment"]["dmd_code"]
    line = {"kind": "high_cost_drug", "dmd_id": dmd, "line_name": "Examplimab (IFR)", "budget": "100000.00"}
    await rrv_line(stack, THIS_YEAR, line)
    case, _ = await listed_ifr_case(stack.layout.service_url("ifr"), stack, APPLICATION_EXAMPLE, MEMBERS)
    case_path = f"/ifr/requests/{case['id']}"

    chair = await platform.person("panel-chair", path=case_path)
    page = chair.page
    await page.get_by_role("button", name="Record the panel's decision").click()
    await expect(page.get_by_role("heading", level=2, name="Budget impact")).to_be_visible()
    main = page.get_by_role("main")
    await expect(main).to_contain_text("Adding £15,000.00 to Examplimab (IFR) takes its forecast outturn")
    await expect(main).to_contain_text("Forecast outturn with it")
    await chair.check("ifr decision page with the budget impact")

    # the panel approves a higher cost than the one the page worked out: shown again before recording
    await page.get_by_label("Approved", exact=True).check()
    await page.get_by_label("Exceptionality").fill("A genetic variant unlike others with the condition.")
    await page.get_by_label("Clinical effectiveness").fill("Case series: remission in 9 of 12.")
    await page.get_by_label("Value for money").fill("Proportionate to the expected benefit.")
    await page.get_by_label("Approved cost").fill("120000")
    await page.get_by_role("button", name="Record the decision").click()
    await expect(page.locator(".nhsuk-error-summary")).to_contain_text("worked out for another cost")
    await expect(main).to_contain_text("Adding £120,000.00 to Examplimab (IFR)")
    await expect(page.get_by_role("heading", name=re.compile("beyond its at-risk margin"))).to_be_visible()
    await expect(page.get_by_label("Approved cost")).to_have_value("120000")
    await chair.check("ifr decision page: the budget impact worked out again")
    await page.get_by_role("button", name="Record the decision").click()
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Decided")
    await expect(page.get_by_role("heading", level=2, name="Budget impact shown")).to_be_visible()
    await expect(main).to_contain_text("Adding £120,000.00 to Examplimab (IFR)")
    await chair.check("ifr case decided with the budget impact kept")
    await chair.close()

    async with httpx.AsyncClient(base_url=stack.layout.service_url("ifr")) as api:
        kept = (await api.get(f"/api/v1/ifr/requests/{case['id']}", headers=stack.auth("X24", "ifr_officer"))).json()
    assert kept["budget_impact"]["amount"] == "120000.00" and kept["budget_impact"]["line_name"] == "Examplimab (IFR)"
    assert Decimal(kept["budget_impact"]["forecast_outturn_after"]) - Decimal(
        kept["budget_impact"]["forecast_outturn_before"]
    ) == Decimal("120000.00")


async def fill_application(page: Page, planned: date) -> None:
    await page.get_by_label("NHS number").fill(nhs_number_for(random.randrange(20_000, 99_999)))
    for prefix, day in (("date_of_birth", date(1961, 4, 12)), ("planned_start", planned)):
        await page.locator(f"#{prefix}-day").fill(str(day.day))
        await page.locator(f"#{prefix}-month").fill(str(day.month))
        await page.locator(f"#{prefix}-year").fill(str(day.year))
    await page.get_by_label("Your GMC number").fill(CLINICIAN["gmc_number"])
    for c in ENTRY.criteria:
        if c.mandatory:
            await page.get_by_label(f"{c.code}: {c.text}", exact=True).check()
    await page.get_by_label(re.compile("The patient has consented")).check()


async def test_a_cdf_approval_that_crosses_the_margin_says_so(platform: ConsolePlatform) -> None:
    stack = platform.stack
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, stack)
    # next year's line for the drug: nothing is forecast on it yet, so one course crosses its margin
    line = {"kind": "cdf", "dmd_id": ENTRY.dmd_id, "line_name": f"{ENTRY.drug_name} (CDF)", "budget": "1000.00"}
    await rrv_line(stack, NEXT_YEAR, line)
    planned = date(fy_start_year(NEXT_YEAR), 4, 20)

    clinician = await platform.person("rrv-clinician", path=f"/cdf/apply/{ENTRY.entry_id}")
    page = clinician.page
    await expect(page.get_by_role("heading", level=2, name="Budget impact")).to_be_visible()
    await clinician.check("cdf application form with the budget impact")
    await fill_application(page, planned)
    await page.get_by_role("button", name="Send the application").click()
    # the form worked out this year's impact; the planned start is next year's: shown again for it
    await expect(page.locator(".nhsuk-error-summary")).to_contain_text("another financial year")
    main = page.get_by_role("main")
    await expect(
        page.get_by_role("heading", name="This takes the budget line beyond its at-risk margin")
    ).to_be_visible()
    await expect(main).to_contain_text(f"{ENTRY.drug_name} (CDF) (RRV, {NEXT_YEAR})")
    await expect(main).to_contain_text("Yes: the line would be at risk")
    await clinician.check("cdf application form: the approval crosses the margin")
    await page.get_by_role("button", name="Send the application").click()
    await expect(page.locator(".nhsuk-panel")).to_contain_text("Approved")
    await expect(page.get_by_role("heading", level=2, name="Budget impact shown")).to_be_visible()
    await expect(main).to_contain_text("This crosses the at-risk margin of 5%")
    await clinician.check("cdf application approved with the budget impact kept")
    application_path = page.url.split("?")[0].removeprefix(platform.console_url)
    await clinician.close()

    manager = await platform.person("cdf-manager", path=application_path)
    await expect(manager.page.get_by_role("heading", level=2, name="Budget impact shown")).to_be_visible()
    await expect(manager.page.get_by_role("main")).to_contain_text("the line would be at risk")
    await manager.check("cdf manager reads the budget impact of an approval")
    await manager.close()
