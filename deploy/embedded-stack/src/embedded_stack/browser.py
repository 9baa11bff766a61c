"""Browser tests of the web console: Playwright driving Debian's Chromium, axe-core on every page.

Playwright cannot download its own browser here, so it launches `/usr/bin/chromium` (installed by
`make test`) with the flags that work on this kind of machine. Each person gets a browser context of
their own (their own cookies), signs in through the real OpenID provider by picking their persona,
and every page a test looks at goes through `Person.check`: a screenshot under
`test-results/console/` and an axe-core run (WCAG 2.2 A and AA rules) that fails the test on any
serious or critical violation.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[4]
AXE = ROOT / "services" / "web-console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = ROOT / "test-results" / "console"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


def chromium() -> str:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    return str(CHROMIUM)


@functools.cache
def axe_source() -> str:
    return AXE.read_text()


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)


@dataclass
class AccessibilityReport:
    """Every page checked in a test session, and what axe found on it."""

    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def record(self, name: str, violations: list[dict[str, Any]]) -> None:
        self.pages[name] = violations

    def summary(self) -> dict[str, Any]:
        impacts: dict[str, int] = {}
        for violations in self.pages.values():
            for v in violations:
                impacts[v.get("impact") or "unknown"] = impacts.get(v.get("impact") or "unknown", 0) + 1
        return {"pages": len(self.pages), "violations_by_impact": impacts}


@dataclass
class Person:
    """One persona in their own browser context."""

    persona: str
    context: BrowserContext
    page: Page
    console_url: str
    report: AccessibilityReport

    async def open(self, path: str) -> Page:
        await self.page.goto(self.console_url + path)
        return self.page

    async def check(self, name: str) -> list[dict[str, Any]]:
        """Screenshot the page and run axe-core on it; fail on a serious or critical violation."""
        await self.page.screenshot(path=str(SCREENS / f"{_slug(name)}.png"), full_page=True)
        # evaluate() runs through the DevTools protocol, so the page's CSP does not block axe itself
        await self.page.evaluate(axe_source())
        result = await self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
        )
        violations = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
        ]
        self.report.record(f"{self.persona}: {name}", violations)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"axe-core on {name} ({self.page.url}): {json.dumps(blocking, indent=1)}"
        return violations

    async def close(self) -> None:
        await self.context.close()


async def sign_in(
    browser: Browser, console_url: str, persona: str, name: str, report: AccessibilityReport, path: str = "/"
) -> Person:
    """A new browser context that signs in as `persona` (their display `name` on the provider's page)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = await context.new_page()
    person = Person(persona, context, page, console_url, report)
    await page.goto(console_url + path)
    await page.get_by_role("button", name=re.compile(f"^Sign in as {re.escape(name)},")).click()
    await page.wait_for_url(re.compile("^" + re.escape(console_url)))
    return person


@dataclass
class ConsolePlatform:
    """The served platform the browser tests drive, and where its people sign in."""

    stack: Any  # embedded_stack.testing.TestStack
    console_url: str
    browser: Browser
    report: AccessibilityReport

    async def person(self, persona_id: str, path: str = "/") -> Person:
        from embedded_stack.oidc import persona

        return await sign_in(self.browser, self.console_url, persona_id, persona(persona_id).name, self.report, path)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
