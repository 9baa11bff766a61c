"""Contracts in the browser: a contract manager creates a contract with budget lines (problems shown at
their fields first: the console's own and the API's), adds a budget line, agrees a variation, and the
as-of view shows the old and new price on either side of its date; a variation form opened before it
says the contract changed and changes nothing; a derogation is raised and moved through its states; a
trust's finance manager sees their own trust's contract read-only and gets 404 for another's. Every page
is checked by axe-core."""

from __future__ import annotations

import random
import string
import uuid

import httpx
from playwright.async_api import Page, expect

from embedded_stack.browser import ConsolePlatform
from embedded_stack.testing import TestStack

PLAN = " ".join(["10"] * 12)  # 120 episodes a year
STALE = "This contract changed since you opened it"


def fresh_provider() -> str:
    """A trust code no other test holds a contract for (one contract per trust per year)."""
    return "Q" + "".join(random.choices(string.ascii_uppercase + string.digits, k=2))


async def fill_date(page: Page, field_id: str, day: int, month: int, year: int) -> None:
    await page.locator(f"#{field_id}-day").fill(str(day))
    await page.locator(f"#{field_id}-month").fill(str(month))
    await page.locator(f"#{field_id}-year").fill(str(year))


async def rrv_contract(stack: TestStack) -> tuple[str, str]:
    """A contract of RRV's (the finance manager's trust), made through the API; an earlier run's will do."""
    commissioner = stack.auth("X24", "contract_manager")
    async with httpx.AsyncClient(base_url=stack.layout.service_url("contract")) as contract:
        made = await contract.post(
            "/api/v1/contracts",
            json={
                "provider_ods": "RRV",
                "financial_year": "2026/27",
                "title": "UCLH specialised services 2026/27",
                "terms": {"schedules": [{"hub": "LDN", "hub_name": "London specialised commissioning"}]},
            },
            headers={**commissioner, "Idempotency-Key": uuid.uuid4().hex},
        )
        if made.status_code == 201:
            return made.json()["id"], made.json()["title"]
        assert made.status_code == 409, made.text
        listed = await contract.get(
            "/api/v1/contracts", params={"provider": "RRV", "fy": "2026/27"}, headers=commissioner
        )
        first = listed.json()["items"][0]
        return first["id"], first["title"]


async def test_a_contract_is_created_varied_and_seen_as_of_a_date(platform: ConsolePlatform) -> None:
    provider = fresh_provider()
    manager = await platform.person("contract-manager", path="/contracts")
    page = manager.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Contracts")
    await manager.check("contracts list")

    # create it: a plan that is not twelve months is the console's to refuse, a year the API's
    await page.get_by_role("link", name="Create a contract").click()
    await page.get_by_label("Trust ODS code").fill(provider)
    await page.get_by_label("Financial year").fill("2026")
    await page.get_by_label("Title").fill(f"{provider} specialised services 2026/27")
    await page.get_by_label("Commissioning hub code").fill("NW")
    await page.get_by_label("Commissioning hub name").fill("North West specialised commissioning")
    await page.get_by_label("Service line 1 code").fill("CARD01")
    await page.get_by_label("Service line 1 description").fill("Adult cardiac surgery")
    await page.locator("#terms-service_lines-0-category").check()  # the first category: tariff
    await page.get_by_label("Service line 1 price per unit").fill("1000")
    await page.get_by_label("Service line 1 indicative activity plan").fill("10 10")
    for row, (kind, category, name, budget) in enumerate(
        (("cdf", "cdf", "CDF drugs", "250000"), ("high_cost_drug", "biologics", "Biologics", "100000"))
    ):
        await page.locator(f"input[name='budget_lines-{row}-kind'][value='{kind}']").check()
        await page.get_by_label(f"Budget line {row + 1} or a category").fill(category)
        await page.get_by_label(f"Budget line {row + 1} line name").fill(name)
        await page.get_by_label(f"Budget line {row + 1} budget for the year").fill(budget)
    await page.get_by_role("button", name="Create the contract").click()
    await expect(page.locator("#terms-service_lines-0-activity_plan-error")).to_contain_text("twelve numbers")
    await manager.check("contract create with a problem")
    await page.get_by_label("Service line 1 indicative activity plan").fill(PLAN)
    await page.get_by_role("button", name="Create the contract").click()
    await expect(page.locator("#financial_year-error")).to_be_visible()
    await expect(page.locator(".nhsuk-error-summary")).to_contain_text("Financial year")
    await page.get_by_label("Financial year").fill("2026/27")
    await page.get_by_role("button", name="Create the contract").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The contract was created")
    contract_url = page.url.split("?")[0]
    summary = page.locator(".nhsuk-summary-list")
    await expect(summary).to_contain_text("£120,000.00")  # 120 episodes at £1,000
    budgets = page.locator("table", has=page.get_by_text("Budget lines", exact=True))
    await expect(budgets).to_contain_text("CDF drugs")
    await expect(budgets).to_contain_text("Biologics")
    await manager.check("contract created")

    # a budget line added on the page: a drug id that is not dm+d is the API's to refuse, at its field
    await page.locator("input[name='kind'][value='device']").check()
    await page.get_by_label("Drug (dm+d id)").fill("12345")
    await page.get_by_label("Line name").fill("Devices")
    await page.get_by_label("Budget for the year").fill("5000")
    await page.get_by_role("button", name="Add the budget line").click()
    await expect(page.locator("#dmd_id-error")).to_be_visible()
    await manager.check("contract budget line with a problem")
    await page.get_by_label("Drug (dm+d id)").fill("")
    await page.get_by_label("Or a category").fill("devices")
    await page.get_by_role("button", name="Add the budget line").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The budget line was added")
    await expect(budgets).to_contain_text("Devices")

    # two variation forms opened on the same version; the first agreed, the second is stale
    stale = await manager.context.new_page()
    await stale.goto(f"{contract_url}/variations/new")
    await page.get_by_role("link", name="Agree a variation").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Agree a variation")
    await manager.check("contract variation form")
    await fill_date(page, "effective_date", 1, 10, 2026)
    await page.get_by_label("What was agreed").fill("Cardiac surgery price uplift from October")
    await page.get_by_label("Set a service line's price").check()
    await page.get_by_label("Service line code").fill("CARD01")
    await page.get_by_label("New price per unit").fill("1100")
    await page.get_by_role("button", name="Agree the variation").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The variation was agreed")
    variations = page.locator("table", has=page.get_by_text("Variations in the order agreed"))
    await expect(variations).to_contain_text("Cardiac surgery price uplift from October")
    await expect(summary).to_contain_text("£132,000.00")  # with every agreed variation: 120 at £1,100
    await manager.check("contract with a variation")

    await fill_date(stale, "effective_date", 1, 11, 2026)
    await stale.get_by_label("What was agreed").fill("CQUIN rate to 2%")
    await stale.get_by_label("Set the CQUIN rate").check()
    await stale.get_by_label("New CQUIN rate (%)").fill("2")
    await stale.get_by_role("button", name="Agree the variation").click()
    await expect(stale.locator(".nhsuk-error-summary")).to_contain_text(STALE)
    await stale.close()
    await page.reload()
    await expect(variations.locator("tbody tr")).to_have_count(1)  # the stale form changed nothing

    # as of the day before the variation: the old price; on its date: the new one
    await fill_date(page, "as_of", 30, 9, 2026)
    await page.get_by_role("button", name="Show the contract on that date").click()
    lines = page.locator("table", has=page.get_by_text("Service lines and prices", exact=True))
    await expect(page.locator(".nhsuk-inset-text")).to_contain_text("30 September 2026")
    await expect(page.locator(".nhsuk-inset-text")).to_contain_text("before any variation")
    await expect(lines).to_contain_text("£1,000.00 per episode")
    await manager.check("contract as of before the variation")
    await page.locator("#as_of-day").fill("1")
    await page.locator("#as_of-month").fill("10")
    await page.get_by_role("button", name="Show the contract on that date").click()
    await expect(page.locator(".nhsuk-inset-text")).to_contain_text("variations 1 in force")
    await expect(lines).to_contain_text("£1,100.00 per episode")
    await manager.check("contract as of the variation's date")

    # the CSV of the year names the new contract
    async with page.expect_download() as download:
        await manager.open("/contracts?fy=2026%2F27")
        await page.get_by_role("link", name="Download the contracts of 2026/27").click()
    exported = (await (await download.value).path()).read_text()
    assert f"{provider},2026/27" in exported

    await manager.close()


async def test_a_derogation_moves_through_its_states_and_a_trust_sees_only_its_own(platform: ConsolePlatform) -> None:
    stack = platform.stack
    provider = fresh_provider()
    async with httpx.AsyncClient(base_url=stack.layout.service_url("contract")) as contracts:
        made = await contracts.post(
            "/api/v1/contracts",
            json={
                "provider_ods": provider,
                "financial_year": "2026/27",
                "title": f"{provider} specialised services 2026/27",
                "terms": {"schedules": [{"hub": "NW", "hub_name": "North West specialised commissioning"}]},
            },
            headers={**stack.auth("X24", "contract_manager"), "Idempotency-Key": uuid.uuid4().hex},
        )
    assert made.status_code == 201, made.text
    contract_url = f"{platform.console_url}/contracts/{made.json()['id']}"

    # a derogation raised, agreed, extended, breached, recovered and delivered
    manager = await platform.person("contract-manager", path=contract_url.removeprefix(platform.console_url))
    page = manager.page
    await page.get_by_role("link", name="Raise a derogation").click()
    await page.get_by_label("Service specification").fill("170004/S")
    await page.get_by_label("What the trust cannot meet, and why").fill("Surgeon cover is short of 24/7 until June")
    await fill_date(page, "due_date", 30, 6, 2027)
    await page.get_by_role("button", name="Raise the derogation").click()
    await expect(page.locator("#action_plan-0-action-error")).to_be_visible()
    await manager.check("derogation raise with a problem")
    await page.get_by_label("Planned action 1 action").fill("Recruit two consultant surgeons")
    await page.get_by_label("Planned action 1 owner").fill("Medical director")
    await fill_date(page, "action_plan-0-due_date", 31, 3, 2027)
    await page.get_by_role("button", name="Raise the derogation").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The derogation was raised")
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Proposed")
    await expect(page.get_by_role("button", name="Reject it")).to_be_visible()
    await manager.check("derogation proposed")
    await page.get_by_role("button", name="Agree the derogation").click()
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Agreed")
    await page.get_by_role("button", name="Extend the due date").click()  # without the new date: the API says
    await expect(page.locator("#due_date-error")).to_contain_text("due_date")
    await manager.check("derogation extend with a problem")
    await fill_date(page, "due_date", 30, 9, 2027)
    await page.get_by_role("button", name="Extend the due date").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The due date was extended")
    await expect(page.locator(".nhsuk-summary-list")).to_contain_text("30 September 2027")
    await page.get_by_role("button", name="Record a breach").click()
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Breached")
    await fill_date(page, "due_date", 31, 12, 2027)
    await page.get_by_role("button", name="Agree a recovery plan").click()
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Agreed")
    await page.get_by_role("button", name="Record it as delivered").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Delivered")
    await expect(page.get_by_role("button", name="Agree the derogation")).to_have_count(0)
    history = page.locator("table", has=page.get_by_text("History", exact=True))
    for step in ("Raised", "Agreed", "Due date extended", "Breach recorded", "Recovery plan agreed", "Delivered"):
        await expect(history).to_contain_text(step)
    await manager.check("derogation delivered")
    derogation_url = page.url.split("?")[0]
    await manager.close()

    # the trust's finance manager: their own trust's contract, read-only; another trust's is not found
    own, title = await rrv_contract(platform.stack)
    finance = await platform.person("rrv-finance", path="/contracts")
    page = finance.page
    # by its address: other tests make RRV contracts of other years, some with the same title
    await expect(page.locator(f'a[href="/contracts/{own}"]')).to_have_text(title)
    await expect(page.locator("table")).not_to_contain_text(provider)
    await expect(page.get_by_role("link", name="Create a contract")).to_have_count(0)
    await finance.check("contracts list for a trust")
    await finance.open(f"/contracts/{own}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await expect(page.get_by_role("link", name="Agree a variation")).to_have_count(0)
    await expect(page.get_by_role("button", name="Add the budget line")).to_have_count(0)
    await finance.check("contract for a trust")
    for other in (contract_url, derogation_url):
        response = await page.goto(other)
        assert response is not None and response.status == 404, other
    await finance.close()
