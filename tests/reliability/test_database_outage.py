"""While PostgreSQL cannot be reached, requests are answered 503 problem+json with Retry-After and the
correlation id (never a 500), and the service serves again by itself once the database is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from embedded_stack.ports import free_port
from embedded_stack.testing import TestStack

ROUTES = {
    "ifr": "/api/v1/ifr/requests",
    "cdf": "/api/v1/cdf/applications",
    "contract": "/api/v1/contracts",
    "notification": "/api/v1/notifications",
}


def unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == 503 and body["title"] == "Service unavailable"
    assert body["correlation_id"] == response.headers["x-correlation-id"]


@pytest.mark.parametrize("name", sorted(ROUTES))
async def test_a_database_that_refuses_connections_is_503_not_500(stack: TestStack, name: str) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/{name}"
    async with stack.service(name, run_workers=False, database_url=closed) as svc:
        caller = {**stack.auth("X24", "admin"), "X-Correlation-ID": f"outage-{name}"}
        response = await svc.client.get(ROUTES[name], headers=caller)
        unavailable(response)
        assert response.json()["correlation_id"] == f"outage-{name}"
        ready = await svc.client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")


def test_postgresql_stopped_under_a_served_service_is_503_until_it_is_back(stack: TestStack) -> None:
    route = ROUTES["cdf"]
    caller = stack.auth("X24", "cdf_manager")
    with stack.served("cdf", RUN_WORKERS="false") as url:
        log = _log_of(stack, url)
        with httpx.Client(base_url=url, headers=caller, timeout=30) as client:
            for _ in range(5):  # a warm pool, as under load
                assert client.get(route).status_code == 200
            stack.postgres.stop("fast")
            try:
                answers = [client.get(route) for _ in range(20)]
            finally:
                stack.postgres.start()
            for response in answers:
                unavailable(response)
            deadline = time.monotonic() + 30
            while (status := client.get(route).status_code) != 200 and time.monotonic() < deadline:
                assert status == 503
                time.sleep(0.2)
            assert status == 200  # recovered by itself
        text = log.read_text()
        assert "Exception in ASGI application" not in text and "Traceback" not in text
        assert "database unavailable" in text


def _log_of(stack: TestStack, url: str) -> Path:
    port = url.rsplit(":", 1)[1]
    return stack.layout.logs / f"cdf-{port}.log"
