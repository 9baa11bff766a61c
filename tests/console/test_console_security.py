"""The console's sign-in and session rules in the browser: another trust's case is not found, a forged,
idle or signed-out session leads to sign-in, a form without its CSRF token changes nothing, a stale form
says the case changed, tokens are refreshed server-side and never reach the browser."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from playwright.async_api import expect
from samples import submitted_ifr_case
from sqlalchemy.engine import make_url

from embedded_stack.browser import ConsolePlatform, Person
from web_console.auth.sessions import SessionStore, Tokens

APPLICATION = {"patient": {"name": "Jo Example"}, "treatment": {"name": "Testimab"}}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def dsn(platform: ConsolePlatform) -> str:
    url = make_url(platform.stack.database_url("ui_console")).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def draft_for(platform: ConsolePlatform, trust: str) -> dict[str, Any]:
    """A draft case of one trust, made through the API as that trust's clinician."""
    headers = platform.stack.auth(trust, "clinician")
    body = {**APPLICATION, "clinician": {"trust_ods": trust}}
    async with httpx.AsyncClient(base_url=platform.stack.layout.service_url("ifr")) as client:
        response = await client.post("/api/v1/ifr/requests", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_another_trusts_case_is_not_found_and_shows_nothing_of_it(platform: ConsolePlatform) -> None:
    case = await draft_for(platform, "RRV")
    outsider = await platform.person("rj1-clinician")
    response = await outsider.page.goto(f"{platform.console_url}/ifr/requests/{case['id']}")
    assert response is not None and response.status == 404
    await expect(outsider.page.get_by_role("heading", level=1)).to_have_text("Page not found")
    content = await outsider.page.content()
    assert case["reference"] not in content and "Testimab" not in content and "Jo Example" not in content
    await outsider.check("another trust's case: not found")
    owner = await platform.person("rrv-clinician", path=f"/ifr/requests/{case['id']}")
    await expect(owner.page.get_by_text(case["reference"]).first).to_be_visible()  # the trust itself sees it
    await outsider.close()
    await owner.close()


async def test_forged_and_idle_sessions_lead_to_sign_in(platform: ConsolePlatform) -> None:
    person = await platform.person("ifr-officer")
    cookies = {c["name"]: c for c in await person.context.cookies()}
    session = cookies["casework_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert all("eyJ" not in c["value"] for c in cookies.values())  # no token (JWT) in any cookie

    forged = await platform.browser.new_context()
    await forged.add_cookies([{**session, "value": "forged-" + session["value"][7:]}])
    stranger = Person("forged cookie", forged, await forged.new_page(), platform.console_url, platform.report)
    await stranger.open("/ifr/requests")
    await expect(stranger.page.get_by_role("heading", level=1)).to_have_text("Choose who to sign in as")
    await stranger.check("provider sign-in page")
    await forged.close()

    conn = await asyncpg.connect(dsn(platform))
    try:
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await conn.execute("UPDATE console_sessions SET last_seen_at = $1 WHERE kind = 'active'", hour_ago)
        await person.open("/ifr/requests")  # idle for an hour: the console's session is over
        # the provider still knows the officer, so sign-in brings them straight back: a new session
        await person.page.wait_for_url(platform.console_url + "/ifr/requests")
        renewed = next(c for c in await person.context.cookies() if c["name"] == "casework_session")
        assert renewed["value"] != session["value"]
        old = await conn.fetchval("SELECT count(*) FROM console_sessions WHERE id = $1", sha256(session["value"]))
        assert old == 0
    finally:
        await conn.close()
    await person.close()


async def test_a_form_without_its_csrf_token_changes_nothing(platform: ConsolePlatform) -> None:
    case = await submitted_ifr_case(platform.stack.layout.service_url("ifr"), platform.stack)
    officer = await platform.person("ifr-officer", path=f"/ifr/requests/{case['id']}")
    url = f"{platform.console_url}/ifr/requests/{case['id']}/actions/acknowledge"
    refused = await officer.page.request.post(url, form={"version": str(case["version"])})  # the session's cookie
    assert refused.status == 403 and "This form has expired" in await refused.text()
    wrong = await officer.page.request.post(url, form={"version": str(case["version"]), "csrf_token": "guess"})
    assert wrong.status == 403
    await officer.page.reload()
    await expect(officer.page.locator(".nhsuk-tag").first).to_have_text("Received")  # still not acknowledged
    await officer.close()


async def test_a_stale_form_says_the_case_changed(platform: ConsolePlatform) -> None:
    case = await submitted_ifr_case(platform.stack.layout.service_url("ifr"), platform.stack)
    officer = await platform.person("ifr-officer", path=f"/ifr/requests/{case['id']}")
    stale = await officer.context.new_page()
    await stale.goto(f"{platform.console_url}/ifr/requests/{case['id']}/actions/withdraw")
    await officer.page.get_by_role("button", name="Assign the case to me").click()  # the case moves on a version
    await expect(officer.page.locator(".nhsuk-notification-banner")).to_be_visible()
    await stale.get_by_label("Why it is withdrawn").fill("The patient moved away.")
    await stale.get_by_role("button", name="Withdraw").click()
    await expect(stale.locator(".nhsuk-error-summary")).to_contain_text("This case changed since you opened it")
    await expect(stale.locator(".nhsuk-tag").first).to_have_text("Received")  # not withdrawn
    officer.page = stale
    await officer.check("stale form: the case changed")
    await officer.close()


async def test_tokens_are_refreshed_on_the_server(platform: ConsolePlatform) -> None:
    person = await platform.person("ifr-officer")
    store = SessionStore(None, platform.stack.layout.secrets()["console_session_key"], 1800, 3600)  # type: ignore[arg-type]
    conn = await asyncpg.connect(dsn(platform))
    try:
        rows = await conn.fetch("SELECT id, tokens FROM console_sessions WHERE kind = 'active'")
        sealed = {r["id"]: store._open(r["tokens"]) for r in rows}
        for key, tokens in sealed.items():
            assert tokens is not None and tokens.refresh_token
            expired = Tokens(tokens.access_token, tokens.refresh_token, 0, tokens.id_token)
            await conn.execute("UPDATE console_sessions SET tokens = $1 WHERE id = $2", store._seal(expired), key)
        await person.open("/ifr/requests")
        await expect(person.page.get_by_role("heading", level=1)).to_have_text("IFR requests")
        after = {r["id"]: store._open(r["tokens"]) for r in await conn.fetch("SELECT id, tokens FROM console_sessions")}
    finally:
        await conn.close()
    refreshed = [k for k in sealed if k in after and after[k] is not None and after[k].expires_at > 0]
    assert refreshed, "the page load did not refresh the expired access token"
    assert all(after[k].access_token != sealed[k].access_token for k in refreshed)
    await person.close()


async def test_sign_out_ends_the_session_here_and_at_the_provider(platform: ConsolePlatform) -> None:
    person = await platform.person("rrv-clinician")
    old_cookie = next(c for c in await person.context.cookies() if c["name"] == "casework_session")
    headers = (await person.page.goto(platform.console_url + "/")).headers  # type: ignore[union-attr]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    await person.page.get_by_role("button", name="Sign out").click()
    await expect(person.page.get_by_role("heading", level=1)).to_have_text("Sign out")  # the provider asks
    await person.check("provider sign-out page")
    await person.page.get_by_role("button", name="Yes, sign me out").click()
    await expect(person.page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    await person.check("signed out")
    # the provider's session is over too: the console sends the user to choose a persona again
    await person.page.goto(platform.console_url + "/")
    await expect(person.page.get_by_role("heading", level=1)).to_have_text("Choose who to sign in as")
    # and the old cookie names no session any more
    replay = await platform.browser.new_context()
    await replay.add_cookies([old_cookie])
    page = await replay.new_page()
    await page.goto(platform.console_url + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Choose who to sign in as")
    await replay.close()
    await person.close()
