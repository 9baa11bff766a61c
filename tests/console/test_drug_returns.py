"""Drug expenditure returns and validation queries in the browser: a trust's finance manager sends a
return whose rows are all wrong (refused at the file field, every row's problem listed), then one with
a line no approval covers and a bad row; the reconciliation shows the challenge; the query's mail
link opens it; the trust disputes with a document (a problem at its field first, and a stale form
told the query changed); the commissioner upholds it and the funding moves; the challenged-value
report and both CSVs show it; the outcome's mail link opens the settled query for the trust; another
trust's finance manager gets 404. Every page is checked by
axe-core."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import time
from pathlib import Path

from playwright.async_api import expect

from casework.identifiers import nhs_number_check_digit, verhoeff_check_digit
from embedded_stack.browser import ConsolePlatform
from embedded_stack.mail_relay import read_messages

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HEADER = "nhs_number,dmd_id,indication,administered_on,quantity,cost,approval_reference,drug_name"


def nhs_number() -> str:
    while True:
        first_nine = f"999{random.randrange(100_000, 999_999)}"
        if (check := nhs_number_check_digit(first_nine)) is not None:
            return first_nine + str(check)


def dmd_id() -> str:
    base = "37620001110000" + "10"  # as contract-service's own tests make one
    return base + str(verhoeff_check_digit(base))


def a_past_month() -> tuple[str, str]:
    """A month of its own for this run (the console's databases outlive a run): period and its year."""
    year, month = random.randrange(2000, 2025), random.randrange(1, 13)
    start = year if month >= 4 else year - 1
    return f"{year}-{month:02d}", f"{start}/{(start + 1) % 100:02d}"


async def query_link(mail: Path, subject: str, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for message in read_messages(mail):
            if message["Subject"] == subject:
                text = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/validation-queries/\S+", text).group(0)  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no mail {subject!r} within {within_s}s")


async def test_a_return_is_challenged_disputed_with_a_document_and_upheld(platform: ConsolePlatform) -> None:
    period, fy = a_past_month()
    patient = nhs_number()
    unapproved = f"{patient},{dmd_id()},metastatic melanoma,{period}-07,1,4321.50,,Nivolumab"
    bad_row = f"9990000019,{dmd_id()},metastatic melanoma,{period}-09,1,100.00,,Nivolumab"  # fails Modulus 11
    reference = f"RRV-{period}-{random.randrange(10**6)}"

    trust = await platform.person("rrv-finance", path="/drug-returns/upload")
    page = trust.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Send a drug expenditure return")
    await trust.check("drug return upload")
    await page.get_by_label("Month of the return").fill(period)
    await page.get_by_label("Your reference for this file").fill(reference)
    await page.set_input_files("#file", files=[_csv("all-wrong.csv", bad_row)])
    await page.get_by_role("button", name="Send the return").click()
    await expect(page.locator("#file-error")).to_contain_text("all-wrong.csv was refused and nothing was stored")
    await expect(page.locator("table")).to_contain_text("nhs_number")
    await trust.check("drug return refused at the file field")

    await page.set_input_files("#file", files=[_csv("return.csv", unapproved, bad_row)])
    await page.get_by_role("button", name="Send the return").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Return for {period}")
    reconciliation = page.locator(".nhsuk-summary-list")
    await expect(reconciliation).to_contain_text("2: 1 kept, 1 with problems")
    await expect(reconciliation.locator(".nhsuk-summary-list__row", has_text="Value challenged")).to_contain_text(
        "£4,321.50"
    )
    await expect(page.locator("table").first).to_contain_text("nhs_number")  # the bad row's problem
    await expect(page.locator("table").last).to_contain_text(patient)
    await expect(page.locator("table").last).to_contain_text("Challenged")
    await trust.check("drug return reconciled with one line challenged")
    return_url = page.url
    query_reference = await page.locator("a[href^='/validation-queries/']").inner_text()
    assert query_reference.startswith(f"VQ-RRV-{period}-")

    await trust.open(f"/drug-returns?period={period}")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody")).to_contain_text(query_reference)
    await trust.check("drug returns list for the trust")

    # the query's mail goes to the trust; its link opens the query
    link = await query_link(platform.stack.layout.mail, f"Validation query {query_reference}: response needed")
    assert link.startswith(platform.console_url)
    query_path = link.removeprefix(platform.console_url)
    await trust.open(query_path)
    await expect(page.get_by_role("heading", level=1)).to_have_text(query_reference)
    await expect(page.locator(".nhsuk-summary-list")).to_contain_text("£4,321.50 withheld from funding")
    await trust.check("validation query for the trust")

    await trust.open(f"/validation-queries?period={period}")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody")).to_contain_text(query_reference)
    await trust.check("validation query worklist for the trust")
    async with page.expect_download() as download:
        await page.get_by_role("link", name=re.compile("Download these validation queries")).click()
    exported = list(csv.DictReader(io.StringIO((await (await download.value).path()).read_text())))
    assert [(r["reference"], r["status"]) for r in exported] == [(query_reference, "raised")]

    # a second tab keeps the query as it was; the first disputes it with evidence and a document
    stale = await trust.context.new_page()
    await stale.goto(link)
    await trust.open(query_path)
    await page.get_by_role("button", name="Send the dispute").click()
    await expect(page.locator("#evidence_text-error")).to_be_visible()
    await trust.check("validation query dispute with a problem")
    await page.get_by_label("Your evidence").fill("Approved on Blueteq before the first dose; the form is attached")
    await page.get_by_label("Approval reference").fill("BTQ-77812")
    not_pdf = {"name": "blueteq.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 a program"}
    await page.set_input_files("#file", files=[not_pdf])
    await page.get_by_role("button", name="Send the dispute").click()
    await expect(page.locator("#file-error")).to_contain_text("must be a PDF or Word (DOCX) document")  # the API's
    await expect(page.get_by_label("Your evidence")).to_have_value(re.compile("Approved on Blueteq"))
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Waiting for the trust")
    await page.set_input_files("#file", files=[{"name": "blueteq.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await page.get_by_role("button", name="Send the dispute").click()
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Your dispute was sent")
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Disputed by the trust")
    await expect(page.get_by_role("link", name="blueteq.pdf")).to_be_visible()
    await trust.check("validation query disputed with a document")
    await stale.get_by_role("button", name="Accept the challenge").click()
    await expect(stale.locator(".nhsuk-error-summary")).to_contain_text("changed since you opened it")
    await stale.close()
    await trust.close()

    # the commissioner finds it in the worklist, reads the evidence and upholds the challenge
    manager = await platform.person("contract-manager", path=f"/validation-queries?provider=RRV&period={period}")
    page = manager.page
    await expect(page.locator("tbody tr")).to_have_count(1)
    await manager.check("validation query worklist for the commissioner")
    await page.get_by_role("link", name=query_reference).click()
    await expect(page.locator(".nhsuk-summary-list")).to_contain_text("BTQ-77812")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="blueteq.pdf").click()
    assert (await (await download.value).path()).read_bytes() == PDF
    await page.get_by_label("Uphold the challenge").check()
    await page.get_by_role("button", name="Record the decision").click()
    await expect(page.locator("#note-error")).to_be_visible()
    await manager.check("validation query decision with a problem")
    await page.get_by_label("Note for the trust").focus()  # the decision again, from the keyboard alone
    await page.keyboard.type("The Blueteq approval was for another indication")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the button after the note
    await expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Your decision was recorded")
    await expect(page.locator(".nhsuk-tag").first).to_have_text("Upheld")
    await expect(page.locator(".nhsuk-summary-list")).to_contain_text("£4,321.50 not funded")
    await expect(page.locator("table")).to_contain_text("Not funded")
    await expect(page.get_by_role("button", name="Record the decision")).to_have_count(0)
    await manager.check("validation query upheld")

    await manager.open(f"/reports/challenged-value?fy={fy.replace('/', '%2F')}&provider=RRV")
    month = page.locator("tbody tr", has_text=period)
    await expect(month).to_contain_text("£4,321.50")
    await expect(month.locator("td").nth(5)).to_contain_text("£4,321.50")  # not funded
    await manager.check("challenged value report")
    async with page.expect_download() as download:
        await page.get_by_role("link", name=re.compile("Download this report")).click()
    report = list(csv.DictReader(io.StringIO((await (await download.value).path()).read_text())))
    assert [(r["queries"], r["not_funded_value"]) for r in report if r["period"] == period] == [("1", "4321.50")]
    refused = await page.goto(platform.console_url + "/drug-returns/upload")  # the trust's own people send it
    assert refused is not None and refused.status == 403
    await manager.close()

    # the outcome is mailed to the trust; its link opens the settled query, with nothing left to answer
    resolved = await query_link(platform.stack.layout.mail, f"Validation query {query_reference}: resolved")
    assert resolved == link
    trust = await platform.person("rrv-finance", path=resolved.removeprefix(platform.console_url))
    await expect(trust.page.locator(".nhsuk-tag").first).to_have_text("Upheld")
    await expect(trust.page.locator(".nhsuk-summary-list")).to_contain_text("The Blueteq approval was for another")
    await expect(trust.page.get_by_role("main").get_by_role("button")).to_have_count(0)  # nothing to answer
    await trust.check("validation query upheld, from the mail, for the trust")
    await trust.close()

    # another trust's finance manager sees neither the return nor the query
    outsider = await platform.person("rj1-finance")
    for url in (return_url, link):
        response = await outsider.page.goto(url)
        assert response is not None and response.status == 404, url
    await outsider.check("validation query of another trust")
    await outsider.close()


def _csv(name: str, *rows: str) -> dict[str, object]:
    return {"name": name, "mimeType": "text/csv", "buffer": "\n".join((HEADER, *rows)).encode() + b"\n"}
