"""The platform as deployed for the console's browser tests: the four services and the web console in
their own processes on the test stack (real PostgreSQL, broker, SMTP relay, OpenID provider), and
one Chromium for the session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest
from playwright.async_api import Browser, async_playwright

from casework.services import SERVICE_NAMES
from embedded_stack.browser import SCREENS, AccessibilityReport, ConsolePlatform, launch
from embedded_stack.testing import TestStack


@pytest.fixture(scope="package")
def served_platform(stack: TestStack) -> Iterator[str]:
    """Stopped when the console's tests end: it serves on the stack's service ports, which the
    cross-service tests after it serve on too (`listen=True`)."""
    with ExitStack() as running:
        for name in SERVICE_NAMES:
            port = stack.layout.ports.services[name]
            running.enter_context(stack.served(name, database=f"ui_{name}", port=port))
        yield running.enter_context(stack.served_console(database="ui_console"))


@pytest.fixture(scope="session")
def accessibility() -> Iterator[AccessibilityReport]:
    SCREENS.mkdir(parents=True, exist_ok=True)
    report = AccessibilityReport()
    yield report
    (SCREENS / "axe-summary.json").write_text(json.dumps({**report.summary(), "by_page": report.pages}, indent=1))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        yield chromium
        await chromium.close()


@pytest.fixture
def platform(
    stack: TestStack, served_platform: str, browser: Browser, accessibility: AccessibilityReport
) -> ConsolePlatform:
    return ConsolePlatform(stack, served_platform, browser, accessibility)
