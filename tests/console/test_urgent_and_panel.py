"""An urgent request in the browser: the panel's chair records a chair's action, the officer lists it for
ratification, a member declares a conflict on the panel page, the chair ratifies it with a quorum; the
officer's note stays with staff; a document the trust attached downloads."""

from __future__ import annotations

import httpx
from playwright.async_api import expect
from samples import listed_ifr_case

from embedded_stack.browser import ConsolePlatform
from ifr_service.api.examples import APPLICATION_EXAMPLE

URGENT = {"urgency": "urgent", "urgency_reason": "Rapid deterioration: treatment is needed this week."}
MEMBERS = [
    {"member_id": "panel-chair", "name": "Dr Helen Okafor", "role": "chair", "voting": True},
    {"member_id": "panel-clinician", "name": "Dr Tom Reid", "role": "clinician", "voting": True},
    {"member_id": "panel-public-health", "name": "Dr Aisha Khan", "role": "public_health", "voting": True},
    {"member_id": "panel-lay-member", "name": "Margaret Ellis", "role": "lay_member", "voting": True},
    {"member_id": "second-clinician", "name": "Dr Ana Silva", "role": "clinician", "voting": True},
]
PDF = b"%PDF-1.4\n%%EOF\n"


async def listed_urgent_case(platform: ConsolePlatform) -> tuple[dict, dict]:
    """An urgent request (with a document the trust attached) screened and listed for today's panel."""
    stack = platform.stack

    async def attach(api: httpx.AsyncClient, case: dict) -> None:
        uploaded = await api.post(
            f"/api/v1/ifr/requests/{case['id']}/documents",
            files={"file": ("clinic-letter.pdf", PDF, "application/pdf")},
            headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": case["id"]},
        )
        assert uploaded.status_code == 201, uploaded.text

    return await listed_ifr_case(
        stack.layout.service_url("ifr"), stack, {**APPLICATION_EXAMPLE, **URGENT}, MEMBERS, "Urgent panel", attach
    )


async def test_chairs_action_ratified_by_the_panel(platform: ConsolePlatform) -> None:
    case, panel = await listed_urgent_case(platform)
    case_path = f"/ifr/requests/{case['id']}"

    chair = await platform.person("panel-chair", path=case_path)
    await chair.page.get_by_role("button", name="Record a chair's action").click()
    await chair.check("chair's action form")
    await chair.page.get_by_label("Approved", exact=True).check()
    await chair.page.get_by_label("Exceptionality").fill("A genetic variant unlike others with the condition.")
    await chair.page.get_by_label("Clinical effectiveness").fill("Case series: remission in 9 of 12.")
    await chair.page.get_by_label("Value for money").fill("Proportionate to the expected benefit.")
    await chair.page.get_by_label("Why the request could not wait for a quorate panel").fill("Deteriorating daily.")
    await chair.page.get_by_role("button", name="Record the chair's action").click()
    await expect(chair.page.locator(".nhsuk-tag").first).to_have_text("Chair's action, awaiting ratification")
    await chair.check("case awaiting ratification")

    officer = await platform.person("ifr-officer", path="/ifr/requests?awaiting_ratification=true")
    await expect(officer.page.get_by_role("link", name=case["reference"], exact=True)).to_be_visible()
    await officer.page.get_by_role("link", name=case["reference"], exact=True).click()
    await officer.page.get_by_label("Add a note").fill("Ratification at today's meeting, agreed with the chair.")
    await officer.page.get_by_role("button", name="Add the note").click()
    await expect(officer.page.get_by_text("Ratification at today's meeting").first).to_be_visible()
    async with officer.page.expect_download() as download:
        await officer.page.get_by_role("link", name="clinic-letter.pdf").click()
    assert (await (await download.value).path()).read_bytes() == PDF
    await officer.page.get_by_role("button", name="List the case for a panel").click()
    await officer.page.get_by_label(f"Urgent panel {case['reference']}", exact=False).check()
    await officer.page.get_by_role("button", name="List for this panel").click()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Listed for ratification")
    await officer.check("case listed for ratification")

    member = await platform.person("panel-clinician", path=f"/ifr/panels/{panel['id']}")
    await member.check("panel page for a member")
    await member.page.get_by_label(case["reference"]).check()
    await expect(member.page.get_by_label("Margaret Ellis (lay member)")).to_have_count(0)  # only themselves
    await member.page.get_by_label("Dr Tom Reid (clinician)").check()
    await member.page.get_by_label("The conflict of interest").fill("I treated the patient before.")
    await member.page.get_by_role("button", name="Record the conflict").click()
    await expect(member.page.locator(".nhsuk-notification-banner")).to_contain_text("conflict of interest")
    row = member.page.get_by_role("row", name=f"{case['reference']} Ratification")
    await expect(row).to_contain_text("Dr Tom Reid")  # stepped out
    await expect(row).to_contain_text("Quorate")  # a second clinician keeps the quorum
    await member.check("panel page after a conflict")
    await member.close()
    await officer.close()

    await chair.open(case_path)
    await chair.page.get_by_role("button", name="Ratify the chair's action").click()
    await chair.check("ratify form")
    await chair.page.get_by_role("button", name="Ratify").click()
    await expect(chair.page.locator(".nhsuk-tag").first).to_have_text("Decided")
    await expect(chair.page.locator(".nhsuk-notification-banner")).to_contain_text("Chair's action ratified")
    await chair.check("case ratified")
    await chair.close()

    clinician = await platform.person("rrv-clinician", path=case_path)
    await expect(clinician.page.get_by_text("Ratification at today's meeting")).to_have_count(0)  # notes: staff only
    await clinician.check("clinician case page ratified")
    await clinician.close()
