"""IFR cohort alerts in the browser (issue 21, item 1): six requests for one treatment from London trusts
raise an alert; the officer finds it under "IFR cohort alerts" (with its requests and trusts; another
region's filter leaves it out), and on the screening page of a seventh request for the treatment sees the
cohort warning and redirects it as a service development request; the clinician reads what they are told.

The requests name an indication no other console test uses (M31.5), so the cohort is this test's own."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from embedded_stack.browser import ConsolePlatform
from ifr_service.api.examples import APPLICATION_EXAMPLE

INDICATION = {"diagnosis": "Giant cell arteritis with polymyalgia rheumatica", "diagnosis_icd10": "M31.5"}


def application(trust: str) -> dict:
    return {
        **APPLICATION_EXAMPLE,
        "clinician": {**APPLICATION_EXAMPLE["clinician"], "trust_ods": trust},
        "clinical": {**APPLICATION_EXAMPLE["clinical"], **INDICATION},
    }


async def cohort_of_seven(platform: ConsolePlatform) -> tuple[list[dict], dict]:
    """Six requests from RRV and RJ1 (both London), then a seventh from RRV acknowledged and in screening."""
    stack = platform.stack
    officer = stack.auth("X24", "ifr_officer")
    async with httpx.AsyncClient(base_url=stack.layout.service_url("ifr") + "/api/v1", timeout=30) as api:

        async def act(case: dict, action: str, headers: dict) -> dict:
            reply = await api.post(
                f"/ifr/requests/{case['id']}/{action}", headers={**headers, "If-Match": f'W/"{case["version"]}"'}
            )
            assert reply.status_code == 200, reply.text
            return reply.json()

        cases = []
        for trust in ("RRV", "RJ1") * 3 + ("RRV",):
            clinician = stack.auth(trust, "clinician")
            draft = await api.post("/ifr/requests", json=application(trust), headers=clinician)
            assert draft.status_code == 201, draft.text
            cases.append(await act(draft.json(), "submit", clinician))
        seventh = await act(await act(cases[-1], "acknowledge", officer), "screen", officer)
        alerts = (await api.get("/ifr/cohort-alerts", params={"region": "Y56"}, headers=officer)).json()["items"]
    (alert,) = [a for a in alerts if {c["reference"] for c in a["cases"]} & {c["reference"] for c in cases}]
    assert alert["request_count"] == 7 and seventh["open_cohort_alert"]["id"] == alert["id"]
    return [*cases[:-1], seventh], alert


async def test_the_officer_sees_the_cohort_and_redirects_a_new_request(platform: ConsolePlatform) -> None:
    cases, alert = await cohort_of_seven(platform)
    seventh = cases[-1]

    officer = await platform.person("ifr-officer")
    await officer.page.get_by_role("link", name="IFR cohort alerts").click()
    card = officer.page.locator(".nhsuk-card", has=officer.page.get_by_role("link", name=alert["reference"] + ":"))
    await expect(card).to_contain_text("Giant cell arteritis with polymyalgia rheumatica (ICD-10 M31.5)")
    await expect(card).to_contain_text("7 in 12 months (the threshold is 6)")
    await expect(card).to_contain_text("RJ1, RRV")
    for case in cases:
        await expect(card.get_by_role("link", name=case["reference"], exact=True)).to_be_visible()
    await officer.check("officer cohort alerts")

    # another region's alerts, chosen from the keyboard: this one is not among them
    await officer.page.get_by_text("Filter the alerts").click()
    await officer.page.get_by_label("East of England").focus()
    await officer.page.keyboard.press("Space")
    await officer.page.get_by_role("button", name="Show alerts").focus()
    await officer.page.keyboard.press("Enter")
    await expect(officer.page).to_have_url(f"{platform.console_url}/ifr/cohort-alerts?region=Y61&open=true")
    await expect(officer.page.get_by_role("link", name=alert["reference"] + ":")).to_have_count(0)
    await officer.check("officer cohort alerts east of england")

    await officer.open(f"/ifr/cohort-alerts/{alert['id']}")
    await expect(officer.page.get_by_role("heading", level=1)).to_have_text("Examplimab in London")
    await expect(officer.page.get_by_role("row", name=f"{cases[0]['reference']} RRV")).to_contain_text("Received")
    await officer.check("officer cohort alert")

    # the screening page of the seventh request: the cohort warning, and the redirect from it
    await officer.open(f"/ifr/requests/{seventh['id']}")
    # the design system draws a warning callout as a warning card: found by its heading
    heading = officer.page.get_by_role("heading", name=re.compile(f"Part of a cohort: {alert['reference']}"))
    warning = officer.page.locator(".nhsuk-card", has=heading)
    await expect(warning).to_contain_text("7 requests for this treatment and indication")
    await expect(warning.get_by_role("link", name=alert["reference"])).to_have_attribute(
        "href", f"/ifr/cohort-alerts/{alert['id']}"
    )
    await officer.check("officer screening page in a cohort")
    await warning.get_by_role("button", name="Redirect as a service development request").click()
    await officer.page.get_by_label("What to tell the clinician").fill("The London policy team meets in January.")
    await officer.check("officer redirect as service development form")
    await officer.page.get_by_role("button", name="Redirect as service development").click()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Service development request")
    await expect(officer.page.locator(".nhsuk-notification-banner")).to_contain_text("service development request")
    await expect(officer.page.get_by_text("Part of a cohort")).to_have_count(0)  # no longer to be screened
    await officer.check("officer case redirected as service development")
    await officer.close()

    clinician = await platform.person("rrv-clinician", path=f"/ifr/requests/{seventh['id']}")
    await clinician.page.get_by_text(f"Individual Funding Request {seventh['reference']}: screening outcome").click()
    letter = clinician.page.locator(".app-letter", has_text="will not go to an IFR panel")
    await expect(letter).to_be_visible()
    await expect(letter).to_contain_text("The London policy team meets in January.")
    await expect(letter).to_contain_text("send new information")
    await expect(clinician.page.get_by_text("Part of a cohort")).to_have_count(0)  # NHS England's view only
    await clinician.check("clinician case redirected as service development")
    await clinician.close()
