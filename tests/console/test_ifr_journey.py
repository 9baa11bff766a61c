"""The whole IFR journey in the browser, each person signing in through the real OpenID provider:
a trust clinician applies (the form walked with the keyboard alone), the case officer acknowledges,
screens and asks for information, the clinician answers, the officer sets up a panel and lists the
case, the panel's chair records the decision, and the decision mail's link opens the decided case."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date
from pathlib import Path

from playwright.async_api import Page, expect

from embedded_stack.browser import ConsolePlatform
from embedded_stack.mail_relay import read_messages

NHS_NUMBER = "9990001014"  # a test number (999...) with a valid Modulus 11 check digit
WRONG_CHECK_DIGIT = "9990001015"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def focused_id(page: Page) -> str | None:
    return await page.evaluate("() => document.activeElement ? document.activeElement.id : null")


async def tab_to(page: Page, element_id: str, presses: int = 120) -> None:
    """Move the focus with the Tab key alone until it is on #element_id."""
    for _ in range(presses):
        if await focused_id(page) == element_id:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"the Tab key never reached #{element_id} (stopped on #{await focused_id(page)})")


async def tab_to_button(page: Page, text: str, presses: int = 160) -> None:
    for _ in range(presses):
        label = await page.evaluate(
            "() => document.activeElement && document.activeElement.tagName === 'BUTTON' ? "
            "document.activeElement.textContent.trim() : null"
        )
        if label == text:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"the Tab key never reached the {text!r} button")


async def keyboard_answers(page: Page, answers: list[tuple[str, str, str]], button: str = "Save and continue") -> None:
    """Answer a question page with the keyboard only: (kind, field id, value) in page order, then Enter."""
    for kind, field_id, value in answers:
        if kind == "text":
            await tab_to(page, field_id)
            await page.keyboard.press("Control+A")
            await page.keyboard.type(value)
        elif kind == "date":
            day, month, year = value.split("-")[::-1]
            await tab_to(page, f"{field_id}-day")
            for part in (day, month, year):
                await page.keyboard.press("Control+A")
                await page.keyboard.type(str(int(part)))
                await page.keyboard.press("Tab")
        elif kind == "choice":  # value: how many options after the first (arrow keys move and select)
            await tab_to(page, field_id)
            await page.keyboard.press("Space")
            for _ in range(int(value)):
                await page.keyboard.press("ArrowDown")
    await tab_to_button(page, button)
    # wait for the navigation Enter starts: wait_for_load_state alone can return before it begins, and
    # axe then ran on a page being replaced (CI: "Execution context was destroyed")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def wait_for_mail(relay: Path, subject: str, to: str, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for message in read_messages(relay):
            if message["Subject"] == subject and to in str(message["To"]):
                return message.get_body(preferencelist=("plain",)).get_content()
        await asyncio.sleep(0.5)
    raise AssertionError(f"no mail {subject!r} to {to} within {within_s}s")


async def test_ifr_journey_from_application_to_the_decision_mail(platform: ConsolePlatform) -> None:
    # -- the trust clinician applies, with the keyboard alone -------------------------------------------
    clinician = await platform.person("rrv-clinician")
    page = clinician.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Dr Sam Patel")
    await clinician.check("clinician home")
    await clinician.open("/ifr/applications/new")
    await clinician.check("application start")
    await tab_to_button(page, "Start now")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/ifr/applications/[0-9a-f-]+/patient$"))
    await clinician.check("application patient page")

    patient = [
        ("text", "patient-nhs_number", WRONG_CHECK_DIGIT),
        ("text", "patient-name", "Alex Example"),
        ("date", "patient-date_of_birth", "1970-02-01"),
        ("choice", "patient-sex", "0"),
        ("text", "patient-gp_practice", "A81001 Example Surgery"),
    ]
    await keyboard_answers(page, patient)
    # the API's problem is shown in the error summary and at the field, and nothing moved on
    summary = page.locator(".nhsuk-error-summary")
    await expect(summary).to_contain_text("NHS number")
    await expect(page.locator("#patient-nhs_number-error")).to_be_visible()
    await clinician.check("application patient page with a problem")
    await keyboard_answers(page, [("text", "patient-nhs_number", NHS_NUMBER)])
    await page.wait_for_url(re.compile(r"/clinician$"))

    await clinician.check("application clinician page")
    await expect(page.locator("#clinician-name")).to_have_value("Dr Sam Patel")  # from the sign-in
    await expect(page.locator("#clinician-trust_ods")).to_have_value("RRV")
    await keyboard_answers(
        page,
        [("text", "clinician-role", "Consultant oncologist"), ("text", "clinician-registration_number", "1234567")],
    )
    await clinician.check("application treatment page")
    await keyboard_answers(
        page,
        [
            ("text", "treatment-name", "Examplimab"),
            ("text", "treatment-dmd_code", "3762811000001103"),
            ("text", "treatment-dose", "200 mg"),
            ("text", "treatment-route", "intravenous"),
            ("text", "treatment-frequency", "every 3 weeks"),
            ("text", "treatment-planned_duration", "6 months"),
            ("text", "treatment-cost_per_course", "2500"),
            ("text", "treatment-total_cost", "15000"),
            ("text", "treatment-setting", "day case"),
        ],
    )
    await clinician.check("application clinical page")
    await keyboard_answers(
        page,
        [
            ("text", "clinical-diagnosis", "Rare vasculitis"),
            ("text", "clinical-diagnosis_icd10", "M31.8"),
            ("text", "clinical-relevant_history", "Diagnosed 2019."),
            ("text", "clinical-current_condition", "Active disease despite therapy."),
            ("text", "clinical-previous_treatments-0-treatment", "Rituximab"),
            ("text", "clinical-previous_treatments-0-outcome", "No response after 2 courses."),
            ("text", "clinical-standard_options_unsuitable", "Contraindicated because of renal impairment."),
        ],
    )
    await clinician.check("application case page")
    await keyboard_answers(
        page,
        [
            ("text", "case-exceptionality", "A genetic variant seen in under 1 in 10,000 patients."),
            ("text", "case-expected_benefit", "Remission within 12 weeks."),
            ("text", "case-outcome_measures", "BVAS score at 12 and 24 weeks."),
            ("text", "case-start_criteria", "BVAS above 15."),
            ("text", "case-stop_criteria", "No fall in BVAS by 12 weeks."),
            ("text", "case-evidence", "Case series (n=12)."),
            ("choice", "case-other_patients_similar", "1"),  # No
        ],
    )
    await clinician.check("application urgency page")
    await keyboard_answers(
        page,
        [
            ("choice", "urgency", "0"),  # Routine
            ("choice", "part_of_trial", "1"),  # No
            ("choice", "patient_consent", "0"),  # Yes
            ("choice", "chief_pharmacist_support", "0"),  # Yes
        ],
    )
    await page.wait_for_url(re.compile(r"/check$"))
    await expect(page.get_by_text("Alex Example")).to_be_visible()
    await clinician.check("application check your answers")
    await tab_to_button(page, "Submit the application")
    await page.keyboard.press("Enter")
    await expect(page.locator(".nhsuk-panel")).to_contain_text("Application submitted")
    reference = (await page.locator(".nhsuk-panel strong").inner_text()).strip()
    await clinician.check("application submitted")
    await page.get_by_role("link", name="Go to the case").click()
    case_url = page.url
    case_path = case_url.removeprefix(platform.console_url)
    await clinician.check("clinician case page")
    # a clinician sees no officer actions
    await expect(page.get_by_role("button", name="Acknowledge receipt")).to_have_count(0)

    # -- the case officer acknowledges, screens and asks for information --------------------------------
    officer = await platform.person("ifr-officer")
    await officer.open("/ifr/requests")
    await officer.check("officer worklist")
    await officer.page.get_by_role("link", name=reference).click()
    await officer.check("officer case page received")
    await expect(officer.page.get_by_role("heading", level=1)).to_have_text("Examplimab")  # the treatment
    await officer.page.get_by_role("button", name="Acknowledge receipt").click()
    await expect(officer.page.locator(".nhsuk-notification-banner")).to_contain_text("Receipt acknowledged")
    await officer.page.get_by_role("button", name="Start screening").click()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Screening")
    await officer.page.get_by_role("button", name="Ask the clinician for information").click()
    await officer.check("officer request information form")
    await officer.page.get_by_role("button", name="Send the request").click()  # empty: the API says what
    await expect(officer.page.locator(".nhsuk-error-summary")).to_be_visible()
    await expect(officer.page.locator("#information_needed-error")).to_be_visible()
    await officer.check("officer request information with a problem")
    await officer.page.get_by_label("What is needed").fill("The renal function results from the last 3 months.")
    await officer.page.get_by_role("button", name="Send the request").click()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Waiting for information")
    await officer.check("officer case page waiting for information")

    # -- the clinician answers and attaches a letter ----------------------------------------------------
    await clinician.open(case_path)
    await clinician.page.get_by_role("button", name="Send the information asked for").click()
    await clinician.page.get_by_label("The information").fill("eGFR 38, 41 and 40 in the last three months.")
    await clinician.check("clinician provide information form")
    await clinician.page.get_by_role("button", name="Send the information").click()
    await expect(clinician.page.locator(".nhsuk-tag").first).to_have_text("Information received")
    await clinician.page.locator("#file").set_input_files(
        files=[{"name": "renal-results.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await clinician.page.get_by_role("button", name="Attach the document").click()
    await expect(clinician.page.get_by_role("link", name="renal-results.pdf")).to_be_visible()
    await clinician.check("clinician case page with document")

    # -- the officer sets up today's panel and lists the case -------------------------------------------
    today = date.today()
    await officer.open("/ifr/panels/new")
    await officer.page.get_by_label("Name of the meeting").fill(f"London IFR panel {reference}")
    await officer.page.get_by_label("IFR panel", exact=True).check()
    await officer.page.locator("#meeting_date-day").fill(str(today.day))
    await officer.page.locator("#meeting_date-month").fill(str(today.month))
    await officer.page.locator("#meeting_date-year").fill(str(today.year))
    members = [
        ("panel-chair", "Dr Helen Okafor", "chair"),
        ("panel-clinician", "Dr Tom Reid", "clinician"),
        ("panel-public-health", "Dr Aisha Khan", "public_health"),
        ("panel-lay-member", "Margaret Ellis", "lay_member"),
    ]
    for row, (member_id, name, role) in enumerate(members):
        await officer.page.locator(f"#members-{row}-member_id").fill(member_id)
        await officer.page.locator(f"#members-{row}-name").fill(name)
        await officer.page.locator(f"input[name='members-{row}-role'][value='{role}']").check()
        await officer.page.locator(f"input[name='members-{row}-voting'][value='yes']").check()
    # a panel belongs to a region: the API's problem shows at the region's field until one is chosen
    await officer.page.get_by_role("button", name="Set up the meeting").click()
    await expect(officer.page.locator("#region-error")).to_contain_text("Region")
    await expect(officer.page.locator(".nhsuk-error-summary a[href='#region']")).to_be_visible()
    await officer.check("officer new panel form without a region")
    await officer.page.get_by_label("London", exact=True).check()
    await officer.check("officer new panel form")
    await officer.page.get_by_role("button", name="Set up the meeting").click()
    await expect(officer.page.get_by_role("heading", level=1)).to_have_text(f"London IFR panel {reference}")
    await expect(officer.page.locator(".nhsuk-summary-list")).to_contain_text("London")
    await officer.check("officer panel page")
    await officer.open(case_path)
    await officer.page.get_by_role("button", name="List the case for a panel").click()
    await officer.page.get_by_label(re.compile(f"London IFR panel {reference}")).check()
    await officer.check("officer list for panel form")
    await officer.page.get_by_role("button", name="List for this panel").click()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Listed for panel")
    await expect(officer.page.get_by_text("Quorate if every member not conflicted attends")).to_be_visible()
    await officer.check("officer case page listed")

    # -- the panel's chair records the decision ---------------------------------------------------------
    chair = await platform.person("panel-chair")
    await expect(chair.page.get_by_role("link", name=reference, exact=True)).to_be_visible()
    await chair.check("panel chair home")
    await chair.page.get_by_role("link", name=reference, exact=True).click()
    await chair.page.get_by_role("button", name="Record the panel's decision").click()
    await chair.check("panel chair decision form")
    for member_id, _, _ in members:
        await expect(chair.page.locator(f"input[name='present'][value='{member_id}']")).to_be_checked()
    await chair.page.get_by_label("Approved", exact=True).check()
    await chair.page.get_by_label("Exceptionality").fill("The variant makes the patient unlike others at this stage.")
    await chair.page.get_by_label("Clinical effectiveness").fill("The case series shows remission in 9 of 12.")
    await chair.page.get_by_label("Value for money").fill("The cost is proportionate to the expected remission.")
    await chair.page.get_by_role("button", name="Record the decision").click()
    await expect(chair.page.locator(".nhsuk-tag").nth(0)).to_have_text("Decided")
    await chair.check("panel chair case decided")

    # -- the decision mail reaches the clinician, and its link opens the decided case -------------------
    mail = await wait_for_mail(platform.stack.layout.mail, f"IFR {reference}: decision made", "sam.patel@nhs.net")
    link = re.search(r"https?://\S+", mail.split("Read the decision letter:", 1)[1]).group(0)
    assert link == case_url, (link, case_url)
    reader = await platform.browser.new_context()
    mail_page = await reader.new_page()
    await mail_page.goto(link)  # not signed in: the provider first, then straight to the case
    await mail_page.get_by_role("button", name=re.compile("^Sign in as Dr Sam Patel,")).click()
    await mail_page.wait_for_url(link)
    await expect(mail_page.locator(".nhsuk-tag").nth(0)).to_have_text("Decided")
    await expect(mail_page.get_by_text("Approved").first).to_be_visible()
    await reader.close()
    for person in (clinician, officer, chair):
        await person.close()
