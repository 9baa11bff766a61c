"""The trust's CDF lead sends SACT data in the browser: a file that is not CSV and one of no SACT version
are refused with the reason on the page; a month's file with a start, a stop, an unapproved CDF drug and
a bad row goes through, its progress reaching done, the bad row's every problem in the report; the
treatments show started and stopped. Every page is checked by axe-core."""

from __future__ import annotations

import csv
import io
import random
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import httpx
from playwright.async_api import expect
from samples import APPLICATION, prepare_cdf

from cdf_service.synthetic.national import seed_entries, two_cycle_course
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.browser import ConsolePlatform

ENTRY = "CDF-PEMBRO-NSCLC-1L"


def month_file(tmp: Path, approved: str, finished: str, unapproved: str) -> tuple[Path, int]:
    """The CSV, and the number of its bad row (a copy of a row with a wrong NHS number and birth date)."""
    entry = seed_entries()[ENTRY]
    started = two_cycle_course(entry, "RRV", approved, "1234567", approved=True)
    stopped = replace(
        two_cycle_course(entry, "RRV", finished, "1234567", approved=True),
        cycles=2,
        regimen_start=date.today() - timedelta(days=3 * entry.cycle_length_days),
    )
    stopped = replace(stopped, planned_start=stopped.regimen_start)
    given = two_cycle_course(entry, "RRV", unapproved, "1234567", approved=False)
    buffer = io.StringIO()
    write_sact_csv(buffer, [started, stopped, given], date.today() - timedelta(days=1), random.Random(4))
    table = list(csv.reader(io.StringIO(buffer.getvalue())))
    header, bad = table[0], list(table[-1])
    bad[header.index("NHS_NUMBER")] = "1234567890"
    bad[header.index("PERSON_BIRTH_DATE")] = "2026-13-45"
    table.append(bad)
    path = tmp / "rrv-sact.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(table)
    return path, len(table) - 1


async def test_the_lead_sends_a_months_sact_and_reads_its_report(platform: ConsolePlatform, tmp_path: Path) -> None:
    stack = platform.stack
    approved, finished, unapproved = (nhs_number_for(random.randrange(20_000, 99_999)) for _ in range(3))
    path, bad_row = month_file(tmp_path, approved, finished, unapproved)
    references = {}
    async with httpx.AsyncClient(base_url=stack.layout.service_url("cdf")) as cdf:
        await prepare_cdf(cdf, stack)
        for nhs, planned in (
            (approved, date.today() - timedelta(days=22)),
            (finished, date.today() - timedelta(days=63)),
        ):
            body = {**APPLICATION, "nhs_number": nhs, "planned_start": planned.isoformat()}
            made = await cdf.post(
                "/api/v1/cdf/applications",
                json=body,
                headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": uuid.uuid4().hex},
            )
            assert made.status_code == 201 and made.json()["status"] == "approved", made.text
            references[nhs] = made.json()["reference"]

    lead = await platform.person("rrv-cdf-lead", path="/sact/upload")
    page = lead.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Send SACT data")
    await lead.check("sact upload")
    month = date.today().strftime("%Y-%m")

    # not a CSV: refused at the file field
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a SACT file")
    await page.get_by_label("Month of the data").fill(month)
    await page.get_by_label("Your reference for this file").fill(f"upload-{uuid.uuid4().hex[:8]}")
    await page.get_by_label("The SACT file (CSV)").set_input_files(text_file)
    await page.get_by_role("button", name="Send the file").click()
    await expect(page.locator("#file-error")).to_contain_text("is not a CSV file")
    await lead.check("sact upload not csv")

    # a header of no SACT version: refused naming the columns, nothing stored
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("PATIENT,DRUG\n9434765919,Pembrolizumab\n")
    await page.get_by_label("The SACT file (CSV)").set_input_files(wrong)
    await page.get_by_role("button", name="Send the file").click()
    summary = page.locator(".nhsuk-error-summary")
    await expect(summary).to_contain_text("was refused and nothing was stored")
    await expect(summary).to_contain_text("PATIENT")
    await lead.check("sact upload unknown version")

    # the month's file: progress to done, then the report with the bad row's every problem
    await page.get_by_label("Your reference for this file").fill(f"upload-{uuid.uuid4().hex[:8]}")
    await page.get_by_label("The SACT file (CSV)").set_input_files(path)
    await page.get_by_role("button", name="Send the file").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"SACT submission for {month}")
    await expect(page.locator("#progress")).to_contain_text("Done:", timeout=60_000)
    await expect(page.locator("#progress-bar")).to_have_attribute("value", "100")
    report = page.locator("table", has_text="Problem")
    bad = report.locator("tr", has=page.locator("td", has_text=str(bad_row)))
    await expect(bad.filter(has_text="NHS_NUMBER")).to_have_count(1)
    await expect(bad.filter(has_text="PERSON_BIRTH_DATE")).to_have_count(1)
    await lead.check("sact submission processed with its report")
    submission_url = page.url

    # the treatments: one started, one started and stopped; the unapproved use is on the worklist
    await lead.open("/cdf/applications")
    await expect(page.locator("tr", has_text=references[approved])).to_contain_text("Started")
    await expect(page.locator("tr", has_text=references[finished])).to_contain_text("Stopped")
    await lead.open("/cdf/treatments?running=false")
    await expect(page.locator("tr", has_text=references[finished])).to_contain_text("completed")
    await expect(page.locator("tr", has_text=references[approved])).to_have_count(0)
    await lead.check("cdf treatments stopped")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download these treatments as a spreadsheet").click()
    exported = Path(await (await download_info.value).path()).read_text()
    assert references[finished] in exported and references[approved] not in exported
    await lead.open("/cdf/unapproved-uses?status=open")
    await expect(page.locator("tr", has_text=unapproved)).to_contain_text("Pembrolizumab")
    await lead.open("/cdf/completeness?month=2026-13")
    await expect(page.locator("#month-error")).to_be_visible()
    await lead.check("sact completeness with a problem")
    await lead.open("/cdf/completeness")
    await expect(page.locator("tr", has_text=month).filter(has_text="RRV")).to_contain_text("%")
    await lead.check("sact completeness by month")
    await lead.open("/sact/upload")
    await expect(page.get_by_role("table", name="Past SACT submissions")).to_contain_text("Processed")
    await lead.check("sact upload with past submissions")
    await lead.close()

    outsider = await platform.person("rj1-cdf-lead")  # another trust's submission: not found
    response = await outsider.page.goto(submission_url)
    assert response is not None and response.status == 404
    await outsider.close()
