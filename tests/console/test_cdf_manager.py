"""NHS England's CDF manager in the browser: loads list entries from a CSV (a file with one bad row is
refused with the row's problems listed and nothing stored, then the good file loads), edits an entry's
criteria (a problem shown at its field, then saved as a new version; the same edit from a page opened
before is refused as changed since), closes an entry, sees approvals at two trusts with filters and a
CSV, completeness by trust and month, and a trust x entry spend forecast with its charts and tables
beside the run-rate, and the backtest's accuracy. A trust's CDF lead gets 403 on these pages. Every
page is checked by axe-core."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from playwright.async_api import expect
from samples import APPLICATION, CDF_LIST_CSV, prepare_cdf

from casework.db import create_engine, session_factory
from cdf_service.backtest.history import national_history
from cdf_service.backtest.history_records import HistoryPlan
from cdf_service.backtest.report import document
from cdf_service.backtest.run import run_backtest
from cdf_service.db.backtest_repo import store_backtest
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.browser import ConsolePlatform

ENTRY = "CDF-PEMBRO-NSCLC-1L"
TEMPLATE = "CDF-ATEZO-UC-2L"  # the seed row the test's own entries copy (a drug the other tests leave alone)
RJ1_CLINICIAN = {
    "trust_ods": "RJ1",
    "gmc_number": "7654321",
    "name": "Dr B Oncologist",
    "email": "b.oncologist@nhs.net",
    "specialty": "medical oncology",
}


def list_file(entry_ids: list[str], bad: bool = False) -> bytes:
    """Rows for new entries made from the seed's TEMPLATE row (in force from 30 days ago); with `bad`,
    a third row whose cost and cycle length are not numbers."""
    seed = next(r for r in csv.DictReader(io.StringIO(CDF_LIST_CSV.decode("utf-8-sig"))) if r["entry_id"] == TEMPLATE)
    started = (date.today() - timedelta(days=30)).isoformat()
    rows = [
        seed | {"entry_id": e, "effective_from": started, "managed_access_start": started, "change_note": "test"}
        for e in entry_ids
    ]
    if bad:
        rows.append(rows[0] | {"entry_id": f"{entry_ids[0]}-X", "cost_per_cycle": "lots", "cycle_length_days": "often"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(seed))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def applications_at_two_trusts(cdf: httpx.AsyncClient, stack: Any) -> list[str]:
    """A confirmed clinician at RJ1 (RRV's is prepare_cdf's) and an approval at each trust."""
    registered = await cdf.post("/api/v1/cdf/clinicians", json=RJ1_CLINICIAN, headers=stack.auth("RJ1", "clinician"))
    assert registered.status_code == 201, registered.text
    confirmed = await cdf.post(
        f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
        headers={**stack.auth("RJ1", "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text
    references = []
    for trust, gmc in (("RRV", APPLICATION["clinician_gmc"]), ("RJ1", RJ1_CLINICIAN["gmc_number"])):
        body = {
            **APPLICATION,
            "nhs_number": nhs_number_for(random.randrange(20_000, 99_999)),
            "provider_ods": trust,
            "clinician_gmc": gmc,
            "planned_start": date.today().isoformat(),
        }
        applied = await cdf.post(
            "/api/v1/cdf/applications",
            json=body,
            headers={**stack.auth(trust, "clinician"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert applied.status_code == 201 and applied.json()["status"] == "approved", applied.text
        references.append(applied.json()["reference"])
    return references


async def stored_forecast(cdf: httpx.AsyncClient, stack: Any, trust: str, within_s: float = 90) -> None:
    """The forecaster (in cdf-service's process) has stored the trust's forecast for ENTRY."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        got = await cdf.get(
            "/api/v1/cdf/forecasts",
            params={"provider": trust, "entry_id": ENTRY},
            headers=stack.auth("X24", "cdf_manager"),
        )
        if got.status_code == 200 and got.json()["items"]:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"no forecast for {ENTRY} at {trust} within {within_s}s")


async def store_small_backtest(stack: Any) -> None:
    """A real backtest of the forecast on a small synthetic history (2 trusts, 3 entries, 1 year), stored
    as `python -m cdf_service.backtest --store` stores one."""
    history = await asyncio.to_thread(national_history, HistoryPlan(seed=1, trusts=2, entries=3))
    result = await asyncio.to_thread(run_backtest, history, years=1)
    engine = create_engine(stack.database_url("ui_cdf"), 1)
    try:
        async with session_factory(engine)() as session, session.begin():
            await store_backtest(session, document(result, history.describe(), 1.0))
    finally:
        await engine.dispose()


async def test_the_cdf_manager_keeps_the_list_and_reads_approvals_and_forecasts(platform: ConsolePlatform) -> None:
    stack = platform.stack
    suffix = uuid.uuid4().hex[:6].upper()
    edited, closed = f"CDF-TEST-{suffix}-A", f"CDF-TEST-{suffix}-B"
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, stack)
        references = await applications_at_two_trusts(cdf, stack)
        for trust in ("RRV", "RJ1"):
            await stored_forecast(cdf, stack, trust)
        await store_small_backtest(stack)  # after the forecasts: the forecaster reads its band calibration

    manager = await platform.person("cdf-manager", path="/cdf/list")
    page = manager.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("The national CDF list")
    await expect(page.locator("table")).to_contain_text(ENTRY)
    await manager.check("cdf national list")
    await page.locator("#on-year").fill("2010")  # before the list began: nothing in force
    await page.get_by_role("button", name="Show the list").click()
    await expect(page.get_by_role("main")).to_contain_text("No entries were in force that day")

    # a file with a bad row: refused at the file field, the row's problems listed, nothing stored
    await manager.open("/cdf/list/import")
    await page.get_by_label("The list file (CSV)").set_input_files(
        {"name": "list.csv", "mimeType": "text/csv", "buffer": list_file([edited, closed], bad=True)}
    )
    await page.get_by_role("button", name="Load the file").click()
    await expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    await expect(page.locator("#file-error")).to_contain_text("nothing was loaded")
    problems = page.get_by_role("table", name=re.compile("Problems in the file by row"))
    bad_row = problems.locator("tr", has_text="cost_per_cycle")
    await expect(bad_row.locator("td").first).to_have_text("3")
    await expect(bad_row).to_contain_text("not an amount in pounds")
    await expect(problems.locator("tr", has_text="cycle_length_days").locator("td").first).to_have_text("3")
    await manager.check("cdf list import refused with row problems")
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        missing = await cdf.get(f"/api/v1/cdf/list/{edited}", headers=stack.auth("X24", "cdf_manager"))
    assert missing.status_code == 404  # the good rows of the refused file were not stored either

    await page.get_by_label("The list file (CSV)").set_input_files(
        {"name": "list.csv", "mimeType": "text/csv", "buffer": list_file([edited, closed])}
    )
    await page.get_by_role("button", name="Load the file").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("2 new entries")
    await manager.check("cdf list import loaded")

    # the criteria editor: a problem at its field; saved as version 2; a page opened before is refused
    await page.get_by_role("link", name=edited).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Atezolizumab")
    entry_url = page.url
    await manager.check("cdf list entry with the criteria editor")
    stale = await manager.context.new_page()
    await stale.goto(entry_url)
    await page.locator("#criteria-0-code").fill("C 1")
    await page.get_by_role("button", name="Save the criteria").click()
    await expect(page.locator("#criteria-0-code-error")).to_be_visible()
    await manager.check("cdf criteria editor with a problem")
    await page.locator("#criteria-0-code").fill("C1")
    await page.locator("#criteria-0-text").fill("Histologically confirmed urothelial carcinoma (reworded)")
    spare = await page.locator("textarea[id^=criteria-][id$=-text]").count() - 1
    await page.locator(f"#criteria-{spare}-code").fill("C99")
    await page.locator(f"#criteria-{spare}-text").fill("Written consent to CDF data collection recorded")
    await page.locator(f"#criteria-{spare}-mandatory").check()
    await page.get_by_role("button", name="Save the criteria").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("The criteria were changed")
    criteria = page.get_by_role("table", name=re.compile("Approval criteria of version 2"))
    await expect(criteria).to_contain_text("(reworded)")
    await expect(criteria.locator("tr", has_text="C99")).to_contain_text("Mandatory")
    await expect(page.get_by_role("table", name=re.compile("Every version"))).to_contain_text("C99")
    await manager.check("cdf criteria changed")
    await stale.locator("#criteria-0-text").fill("An edit made on the page opened before")
    await stale.get_by_role("button", name="Save the criteria").click()
    await expect(stale.locator(".nhsuk-error-summary")).to_contain_text("changed since you opened it")
    await expect(stale.get_by_role("table", name=re.compile("Approval criteria"))).not_to_contain_text("opened before")
    await stale.close()

    # closing the other entry to new applications
    await manager.open(f"/cdf/list/{closed}")
    await page.get_by_role("button", name="Close the entry").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("closed to new applications")
    await expect(page.locator(".nhsuk-tag").first).to_have_text(re.compile("Closed", re.IGNORECASE))
    await expect(page.get_by_role("button", name="Close the entry")).to_have_count(0)
    await manager.check("cdf list entry closed")

    # approvals across trusts: both trusts, a trust filter, a date that is not one, the CSV
    await manager.open("/cdf/approvals")
    table = page.locator("table")
    for reference in references:
        await expect(table).to_contain_text(reference)
    await manager.check("cdf approvals across trusts")
    await manager.open("/cdf/approvals?provider=rj1")
    await expect(page.locator("table")).to_contain_text(references[1])
    await expect(page.locator("table")).not_to_contain_text(references[0])
    await page.locator("#planned_from-day").fill("32")
    await page.locator("#planned_from-month").fill("1")
    await page.locator("#planned_from-year").fill("2026")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.locator("#planned_from-error")).to_be_visible()
    await manager.check("cdf approvals with a problem")
    async with page.expect_download() as download:
        await manager.open("/cdf/approvals?provider=RJ1")
        await page.get_by_role("link", name=re.compile("Download these applications")).click()
    exported = (await (await download.value).path()).read_text()
    assert references[1] in exported and references[0] not in exported

    # completeness by trust and month
    await manager.open("/cdf/completeness")
    by_trust = page.get_by_role("table", name=re.compile("By trust and month"))
    await expect(by_trust.locator("tr", has_text="RRV")).to_contain_text("%")
    await expect(by_trust.locator("tr", has_text="RJ1")).to_contain_text("%")
    await manager.check("cdf completeness by trust and month")

    # the spend forecast: the list, then one trust x entry with its charts, tables and the run-rate
    await manager.open("/cdf/forecasts")
    await expect(page.locator("table")).to_contain_text("RJ1")
    await manager.check("cdf forecasts")
    await page.get_by_role("link", name=f"{ENTRY} at RRV").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"{ENTRY} at RRV")
    await expect(page.locator("#run-rate-figure")).to_contain_text("£")
    outturn = page.get_by_role("img", name=re.compile("P10 to P90 band beside the run-rate"))
    await expect(outturn).to_be_visible()
    await expect(outturn.locator("text", has_text="Forecast £")).to_have_count(1)
    months = page.get_by_role("img", name=re.compile("Spend by month"))
    await expect(months).to_be_visible()
    await expect(page.get_by_role("table", name=re.compile("Spend by month"))).to_contain_text("£")
    await manager.check("cdf forecast for a trust and entry")
    await manager.open("/cdf/forecasts/accuracy")
    await expect(page.get_by_role("img", name=re.compile("model beside run-rate"))).to_be_visible()
    await expect(page.get_by_role("table", name=re.compile("WAPE"))).to_contain_text("M1")
    await manager.check("cdf forecast accuracy")
    await manager.close()

    # a trust's CDF lead: these are the CDF team's pages
    lead = await platform.person("rrv-cdf-lead")
    for path in ("/cdf/list", f"/cdf/list/{edited}", "/cdf/list/import", "/cdf/approvals", "/cdf/forecasts"):
        response = await lead.page.goto(platform.console_url + path)
        assert response is not None and response.status == 403, (path, response and response.status)
    await lead.check("cdf team page refused to a trust")
    response = await lead.page.goto(f"{platform.console_url}/cdf/forecasts/RJ1/{ENTRY}")
    assert response is not None and response.status == 403
    await lead.close()
