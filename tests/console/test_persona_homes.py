"""Every dev persona signs in through the provider and lands on their own home page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from embedded_stack.browser import ConsolePlatform
from embedded_stack.oidc import personas

# What each kind of person must find on their home page (a link or heading that is theirs).
EXPECTED = {
    "ifr_officer": "IFR requests",
    "panel_member": "Panel meetings to come",
    "clinician": "Start a new application",
    "trust_cdf_lead": "Cancer Drugs Fund applications",
    "cdf_manager": "Cancer Drugs Fund applications",
    "contract_manager": "Forecast outturn against budget",
    "finance_lead": "Forecast outturn against budget",
    "national_analyst": "The IFR quarterly return",
    "trust_finance": "Drug expenditure returns",
    "mail_operator": "Notifications sent and failed",
    "ig_lead": "Who read or changed a patient's records",
    "admin": "IFR requests",
}


@pytest.mark.parametrize("persona", personas(), ids=lambda p: p.id)
async def test_each_persona_sees_their_home_page(platform: ConsolePlatform, persona) -> None:
    person = await platform.person(persona.id)
    page = person.page
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {persona.name}")
    await expect(page.locator(".nhsuk-header__account")).to_contain_text(f"{persona.title}, {persona.org}")
    await expect(page.get_by_text(EXPECTED[persona.roles[0]]).first).to_be_visible()
    await person.check(f"home {persona.id}")
    await person.close()
