"""`make demo` against running services: what it makes is consistent across services, and a second
run makes nothing twice. The services listen on their ports (the demo talks HTTP, like a user would)
and use databases of their own, so the demo's counts are not mixed with other tests' data."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from cdf_service.synthetic.national import TrustPlan
from embedded_stack.demo import IFR_STAGES, load_demo
from embedded_stack.testing import TestStack, eventually

SERVICES = ("cdf", "contract", "ifr")


async def _all(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict]:
    response = await client.get(path, params={**params, "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"] if isinstance(body, dict) else body


async def test_demo_fills_every_service_consistently_and_repeats_safely(stack: TestStack) -> None:
    async with AsyncExitStack() as running:
        svc = {
            name: await running.enter_async_context(stack.service(name, f"demo_{name}", listen=True))
            for name in SERVICES
        }
        urls = {name: stack.layout.service_url(name) for name in SERVICES}
        secret = stack.layout.secrets()["jwt_secret"]
        plan = TrustPlan(cdf_patients=6, routine_patients=10)
        made = await asyncio.to_thread(load_demo, urls, secret, 1, plan, lambda _: None)

        assert made["cdf"]["RRV"]["sact"]["status"] == "processed"
        officer = stack.auth("X24", "ifr_officer")
        states = {}
        for stage, reference in made["ifr"].items():
            [case] = [
                c for c in await _all(svc["ifr"].client, "/api/v1/ifr/requests", officer) if c["reference"] == reference
            ]
            states[stage] = (case["state"], case["outcome"])
        assert states == {
            "submitted": ("received", None),
            "acknowledged": ("acknowledged", None),
            "screening": ("screening", None),
            "listed": ("listed_for_panel", None),
            "approved": ("decided", "approved"),
            "declined": ("decided", "declined"),
        }
        assert list(made["ifr"]) == list(IFR_STAGES)

        # Contracts came first, so every CDF approval and the IFR approval sit on a budget line.
        cdf_lead = stack.auth("X24", "cdf_manager")
        applications = await _all(svc["cdf"].client, "/api/v1/cdf/applications", cdf_lead)
        approved = {a["reference"] for a in applications if a["status"] != "rejected"}
        assert approved, "the synthetic trust should have approvals"
        expected = approved | {made["ifr"]["approved"]}
        finance = stack.auth("X24", "contract_manager")

        async def committed() -> list[dict] | None:
            found = await _all(svc["contract"].client, "/api/v1/commitments", finance, provider="RRV")
            return found if {c["source_reference"] for c in found} == expected else None

        commitments = await eventually(committed, within=60)
        assert all(c["budget_line_id"] for c in commitments)

        again = await asyncio.to_thread(load_demo, urls, secret, 1, plan, lambda _: None)
        assert again["contracts"] == made["contracts"]
        assert "skipped" in again["ifr"]
        assert len(await _all(svc["cdf"].client, "/api/v1/cdf/applications", cdf_lead)) == len(applications)
        await asyncio.sleep(1)  # time for any doubled event to arrive
        assert len(await _all(svc["contract"].client, "/api/v1/commitments", finance, provider="RRV")) == len(
            commitments
        )
