"""The finance dashboard in the browser: a trust's CDF approval is forecast as pipeline; a SACT start
(posted to cdf-service, forecast again and sent to contract-service as cdf.forecast.updated) moves
the forecast outturn past the 5% margin, and the dashboard shows the move, the line highlighted and
the at-risk alert with when it was raised; the alert's mail opens it; the national summary is sorted
by variance; every table's CSV downloads; a trust's finance user sees only their own trust (another's
is 404, the national summary 403). Every page is checked by axe-core."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import string
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from casework.financial_year import financial_year_of
from casework.identifiers import nhs_number_check_digit
from cdf_service.domain.national_list import EntryStatus
from cdf_service.synthetic.national import Course, application_for, seed_entries
from cdf_service.synthetic.sact_files import write_sact_csv
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.browser import ConsolePlatform, Person
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import TestStack, eventually

FY = financial_year_of(date.today()).financial_year
TERMS = {
    "schedules": [{"hub": "NW", "hub_name": "North West specialised commissioning"}],
    "service_lines": [
        {"code": "CARD01", "hub": "NW", "description": "Adult cardiac surgery", "price": "1000.00"}
        | {"activity_plan": ["10"] * 12}
    ],
}


def money(value: Any) -> str:
    return f"£{Decimal(str(value)):,.2f}"


def commissioner(stack: TestStack) -> dict[str, str]:
    return stack.auth("X24", "finance_lead")


async def new_contract(contract: httpx.AsyncClient, stack: TestStack) -> tuple[str, str]:
    """A contract this year for a trust code no other test uses (the console's databases are shared)."""
    while True:
        trust = "Y" + "".join(random.choices(string.ascii_uppercase + string.digits, k=2))
        body = {"provider_ods": trust, "financial_year": FY, "title": f"{trust} contract", "terms": TERMS}
        made = await contract.post("/api/v1/contracts", json=body, headers=commissioner(stack))
        if made.status_code != 409:
            assert made.status_code == 201, made.text
            return trust, made.json()["id"]


async def cdf_line(contract: httpx.AsyncClient, stack: TestStack, contract_id: str, budget: Decimal) -> dict:
    body = {"kind": "cdf", "category": "cdf", "line_name": "CDF drugs", "budget": str(budget)}
    made = await contract.post(
        f"/api/v1/contracts/{contract_id}/budget-lines", json=body, headers=stack.auth("X24", "contract_manager")
    )
    assert made.status_code == 201, made.text
    return made.json()


def nhs_number() -> str:
    while True:
        first_nine = f"999{random.randrange(0, 1_000_000):06d}"
        if (check := nhs_number_check_digit(first_nine)) is not None:
            return first_nine + str(check)


async def approved_course(cdf: httpx.AsyncClient, stack: TestStack, trust: str) -> Course:
    """The national list, a confirmed clinician at the trust and one approval planned for today, whose
    first cycle SACT will show given yesterday (as tests/contract/test_contract_sact_start_at_risk.py)."""
    loaded = await cdf.post(
        "/api/v1/cdf/list/import",
        content=SEED_LIST.read_bytes(),
        headers={**stack.auth("X24", "cdf_manager"), "Content-Type": "text/csv"},
    )
    assert loaded.status_code == 200, loaded.text
    gmc = f"7{random.randrange(0, 1_000_000):06d}"
    clinician = {"trust_ods": trust, "gmc_number": gmc, "name": "Dr S Start", "email": "s.start@nhs.net"}
    registered = await cdf.post("/api/v1/cdf/clinicians", json=clinician, headers=stack.auth(trust, "clinician"))
    assert registered.status_code == 201, registered.text
    confirmed = await cdf.post(
        f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
        headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text
    entry = min(
        (e for e in seed_entries().values() if e.status == EntryStatus.OPEN and e.managed_access_end is None),
        key=lambda e: e.entry_id,
    )
    today = date.today()
    course = Course(
        trust=trust,
        nhs_number=nhs_number(),
        born=date(1960, 1, 1),
        sex="2",
        gmc=gmc,
        diagnosis="C34.9",
        drugs=(entry.drug_name,),
        cycle_days=entry.cycle_length_days,
        cycles=entry.expected_cycles,
        regimen_start=today - timedelta(days=1),
        entry_id=entry.entry_id,
        approved=True,
        planned_start=today,
    )
    made = await cdf.post(
        "/api/v1/cdf/applications", json=application_for(course, entry), headers=stack.auth(trust, "clinician")
    )
    assert made.status_code == 201 and made.json()["status"] == "approved", made.text
    return course


async def sact_start(cdf: httpx.AsyncClient, stack: TestStack, course: Course) -> None:
    buffer = io.StringIO()
    write_sact_csv(buffer, [course], date.today(), random.Random(1))
    params = {"provider_ods": course.trust, "period": date.today().strftime("%Y-%m"), "submission_id": "start-1"}
    posted = await cdf.post(
        "/api/v1/sact/submissions",
        params=params,
        content=buffer.getvalue().encode(),
        headers={**stack.auth(course.trust, "provider_system"), "Content-Type": "text/csv"},
    )
    assert posted.status_code == 202, posted.text


async def outturn(contract: httpx.AsyncClient, stack: TestStack, trust: str) -> dict:
    got = await contract.get(
        "/api/v1/forecast-outturn", params={"provider": trust, "fy": FY}, headers=commissioner(stack)
    )
    assert got.status_code == 200, got.text
    return got.json()


async def downloaded(page: Page, link_name: str | re.Pattern[str]) -> list[dict[str, str]]:
    async with page.expect_download() as download:
        await page.get_by_role("link", name=link_name).click()
    return list(csv.DictReader(io.StringIO((await (await download.value).path()).read_text())))


async def at_risk_mail_link(mail: Path, trust: str, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for message in read_messages(mail):
            if f"Budget at risk: CDF drugs at {trust}" in message["Subject"]:
                text = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/forecast-outturn\?\S+", text).group(0)  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no at-risk mail for {trust} within {within_s}s")


async def see_the_pipeline(finance: Person, trust: str, before: Decimal) -> None:
    page = finance.page
    await expect(page.get_by_role("heading", level=2, name=f"Trust {trust}, {FY}")).to_be_visible()
    row = page.locator("#lines tbody tr", has_text="CDF drugs")
    await expect(row).to_contain_text(money(before))
    await expect(row).to_contain_text("Within budget")
    await expect(row).not_to_have_class(re.compile("app-row--at-risk"))
    await expect(page.get_by_text("No budget line of this trust has gone at risk")).to_be_visible()
    await finance.check("forecast outturn before the SACT start")


async def see_the_move(finance: Person, trust: str, after: dict) -> None:
    page = finance.page
    row = page.locator("#lines tbody tr", has_text="CDF drugs")
    await expect(row).to_contain_text(money(after["forecast_outturn"]))
    await expect(row).to_contain_text("At risk")
    await expect(row).to_have_class(re.compile("app-row--at-risk"))
    await expect(page.get_by_role("heading", name=re.compile("1 line is at risk"))).to_be_visible()
    alert = page.locator("table", has=page.locator("caption", has_text="Alerts raised")).locator("tbody tr")
    await expect(alert).to_have_count(1)
    await expect(alert).to_contain_text(money(after["forecast_outturn"]))
    await expect(alert).to_contain_text(f"{date.today().day} {date.today():%B %Y} at ")  # when it was raised
    await expect(alert).to_contain_text("Not yet: still at risk")
    months = page.locator("table", has=page.locator("caption", has_text="Every line, month by month"))
    await expect(months.locator("tbody tr")).to_have_count(12)
    await expect(months.locator("tbody tr").first).to_contain_text(f"April {FY[:4]}")
    chart = page.locator("figure.app-chart img").first
    await expect(chart).to_have_attribute(
        "alt", re.compile(f"Forecast outturn {re.escape(money(after['forecast_outturn']))}")
    )
    assert await chart.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # the chart loaded
    await finance.check("forecast outturn after the SACT start, at risk")


async def open_a_lines_months_by_keyboard(finance: Person) -> None:
    page = finance.page
    summary = page.locator("summary", has_text="Month by month for CDF drugs")
    await summary.focus()
    await page.keyboard.press("Enter")
    table = page.locator("table", has=page.locator("caption", has_text="CDF drugs, month by month"))
    await expect(table).to_be_visible()
    await expect(table.locator("tbody tr")).to_have_count(12)
    await finance.check("forecast outturn with a line's months open")


async def download_every_table(finance: Person, trust: str, after: dict) -> None:
    page = finance.page
    [line] = await downloaded(page, "Download the budget lines as a spreadsheet (CSV)")
    assert (line["provider_ods"], line["line_name"], line["forecast_outturn"], line["at_risk"]) == (
        trust,
        "CDF drugs",
        after["forecast_outturn"],
        "yes",
    )
    months = await downloaded(page, "Download every line's months as a spreadsheet (CSV)")
    assert [m["month"] for m in months] == [f"M{m}" for m in range(1, 13)]
    assert sum(Decimal(m["actual"]) + Decimal(m["forecast"]) for m in months) == Decimal(after["forecast_outturn"])
    [alert] = await downloaded(page, "Download the alerts as a spreadsheet (CSV)")
    assert (alert["provider_ods"], alert["forecast_outturn"], alert["cleared_at"]) == (
        trust,
        after["forecast_outturn"],
        "",
    )


async def see_the_national_summary(finance: Person, trust: str, under: str) -> None:
    page = await finance.open(f"/forecast-outturn/national?fy={FY}")
    rows = page.locator("#providers tbody tr")
    await expect(rows.filter(has_text=trust)).to_have_class(re.compile("app-row--at-risk"))
    order = [text.split()[0] for text in await rows.locator("th").all_inner_texts()]
    assert order.index(trust) < order.index(under), order  # the overspend before the underspend
    open_alerts = page.locator("table", has=page.locator("caption", has_text="Open alerts"))
    await expect(open_alerts).to_contain_text(trust)
    await finance.check("national forecast outturn")
    summary = await downloaded(page, "Download the national summary as a spreadsheet (CSV)")
    variances = [Decimal(r["variance"]) for r in summary]
    assert variances == sorted(variances, reverse=True)
    ours = [r["provider_ods"] for r in summary if r["provider_ods"] in (trust, under)]
    assert ours == [trust, under]
    assert any(r["provider_ods"] == trust for r in await downloaded(page, re.compile("Download the open alerts")))
    await rows.filter(has_text=trust).get_by_role("link", name=trust, exact=True).click()  # opens its dashboard
    await expect(page.get_by_role("heading", level=2, name=f"Trust {trust}, {FY}")).to_be_visible()


async def a_trust_sees_only_its_own(platform: ConsolePlatform, trust: str) -> None:
    own = await platform.person("rrv-finance", path="/forecast-outturn")
    page = own.page
    await expect(page.get_by_role("heading", level=2, name=f"Trust RRV, {FY}")).to_be_visible()
    await expect(page.get_by_label("Trust ODS code")).to_have_count(0)  # the year is their only choice
    await expect(page.get_by_role("link", name=re.compile("National summary"))).to_have_count(0)
    await own.check("forecast outturn for a trust's finance manager")
    for path in (
        f"/forecast-outturn?provider={trust}&fy={FY}",
        f"/forecast-outturn.csv?provider={trust}&fy={FY}",
        f"/forecast-outturn/months.csv?provider={trust}&fy={FY}",
        f"/forecast-outturn/alerts.csv?provider={trust}&fy={FY}",
        f"/forecast-outturn/chart.svg?provider={trust}&fy={FY}",
    ):
        response = await page.request.get(platform.console_url + path)
        assert response.status == 404, (path, response.status)
    response = await page.goto(f"{platform.console_url}/forecast-outturn?provider={trust}&fy={FY}")
    assert response is not None and response.status == 404
    response = await page.goto(f"{platform.console_url}/forecast-outturn/national?fy={FY}")
    assert response is not None and response.status == 403
    await own.check("national forecast outturn refused to a trust")
    await own.close()


async def test_the_dashboard_follows_a_sact_start_past_the_margin(platform: ConsolePlatform) -> None:
    stack = platform.stack
    async with (
        httpx.AsyncClient(base_url=stack.layout.service_url("contract")) as contract,
        httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf,
    ):
        trust, contract_id = await new_contract(contract, stack)
        under, under_id = await new_contract(contract, stack)
        await cdf_line(contract, stack, under_id, Decimal("1000.00"))  # nothing forecast: £1,000 under
        course = await approved_course(cdf, stack, trust)

        async def pipeline() -> Decimal:  # the approval's forecast, with no line to hold it yet
            return Decimal((await outturn(contract, stack, trust))["unallocated"]["cdf_forecast_outturn"])

        before = await eventually(pipeline, within=60)
        line = await cdf_line(contract, stack, contract_id, before)  # a budget at the pipeline forecast

        finance = await platform.person("finance-lead", path=f"/forecast-outturn?provider={trust}&fy={FY}")
        await see_the_pipeline(finance, trust, before)

        await sact_start(cdf, stack, course)

        async def moved() -> dict | None:
            [current] = (await outturn(contract, stack, trust))["lines"]
            return current if current["at_risk"] else None

        after = await eventually(moved, within=60)
        assert Decimal(after["forecast_outturn"]) > before * Decimal("1.05") and after["budget_line_id"] == line["id"]

    await finance.page.reload()
    await see_the_move(finance, trust, after)
    await open_a_lines_months_by_keyboard(finance)
    await download_every_table(finance, trust, after)

    link = await at_risk_mail_link(stack.layout.mail, trust)  # the finance mailbox's mail opens the dashboard
    assert link.startswith(platform.console_url)
    await finance.open(link.removeprefix(platform.console_url))
    await expect(finance.page.locator("#lines tbody tr", has_text="CDF drugs")).to_contain_text("At risk")
    await finance.check("forecast outturn from the at-risk mail")

    await see_the_national_summary(finance, trust, under)
    await finance.close()
    await a_trust_sees_only_its_own(platform, trust)
