"""Every link a mail carries opens a console page: notification-service's routing table and the
console's routes agree on one set of paths (the mails are written from routing.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest
from starlette.routing import Match

from notification_service.domain.routing import fill
from web_console.app import create_app
from web_console.settings import ConsoleSettings

SETTINGS = ConsoleSettings(oidc_issuer="http://127.0.0.1:1", oidc_client_id="c", oidc_client_secret="s")
SAMPLE = {
    "request_id": "4f0b6d1e-3a52-4b1f-9a5e-2f6f1d5c9b10",
    "application_id": "0b8a6c1e-9d2f-4e3a-8b7c-6d5e4f3a2b1c",
    "submission_id": "7c6b5a4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
    "query_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "detection_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "alert_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
    "provider_ods": "RRV",
    "financial_year": "2026/27",
}


def mail_links() -> list[str]:
    table = tomllib.loads(resources.files("notification_service").joinpath("routing.toml").read_text())
    return sorted({route["link"] for route in table["route"]})


def served(path: str) -> bool:
    app = create_app(SETTINGS)
    scope = {"type": "http", "method": "GET", "path": path.split("?", 1)[0], "root_path": "", "query_string": b""}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


@pytest.mark.parametrize("pattern", mail_links())
def test_each_mail_link_is_a_console_page(pattern: str) -> None:
    path = fill(pattern, SAMPLE, url=True)
    assert path.startswith("/") and served(path), f"no console page for mail link {pattern} ({path})"


def test_an_unknown_path_is_not_taken_for_a_page() -> None:
    assert not served("/no-such-page/123")
