"""Ready means "can serve requests": the database. A broker outage is reported (a degraded check and the
`casework_broker_up` metric) without taking the API out of a load balancer."""

from __future__ import annotations

import pytest

from casework.services import SERVICE_NAMES
from embedded_stack.ports import free_port
from embedded_stack.testing import TestStack


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_the_broker_down_leaves_the_service_ready_and_reported_degraded(stack: TestStack, name: str) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    async with stack.service(name, run_workers=False, kafka_bootstrap_servers=nowhere) as svc:
        ready = await svc.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "degraded" and body["degraded"] == ["broker"]
        assert body["checks"]["database"] == "ok" and body["checks"]["broker"].startswith("unavailable")
        metrics = (await svc.client.get("/metrics")).text
        assert f'casework_broker_up{{service="{svc.settings.service_name}"}} 0.0' in metrics

    async with stack.service(name, run_workers=False) as svc:
        ready = await svc.client.get("/health/ready")
        assert ready.status_code == 200 and ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "broker": "ok"},
            "degraded": [],
        }
        metrics = (await svc.client.get("/metrics")).text
        assert f'casework_broker_up{{service="{svc.settings.service_name}"}} 1.0' in metrics
