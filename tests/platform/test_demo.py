"""`make demo` against running services: what it makes is consistent across services, and a second
run makes nothing twice. The services listen on their ports (the demo talks HTTP, like a user would)
and use databases of their own, so the demo's counts are not mixed with other tests' data."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import func, select

from cdf_service.synthetic.national import TrustPlan
from embedded_stack.demo import IFR_STAGES, load_demo
from embedded_stack.event_checks import caught_up
from embedded_stack.testing import RunningService, TestStack, eventually

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
        # A doubled event from the second run may sit on any partition of cdf.events or ifr.events, so no
        # one marker can follow it: wait until every outbox has sent what it holds and contract's consumer
        # has committed the end of every partition it reads. Only then is "no new commitment" a finding.
        await eventually(lambda: _settled(stack, svc), within=60, interval=0.5)
        assert len(await _all(svc["contract"].client, "/api/v1/commitments", finance, provider="RRV")) == len(
            commitments
        )


async def _settled(stack: TestStack, svc: dict[str, RunningService]) -> bool:
    consumer = svc["contract"].runtime.consumer
    assert consumer is not None
    # outboxes checked again after the offsets: an event written meanwhile is not yet past contract
    return (
        await _outboxes_sent(svc)
        and await caught_up(stack.bootstrap_servers, consumer.name, consumer.topics)
        and await _outboxes_sent(svc)
    )


async def _outboxes_sent(svc: dict[str, RunningService]) -> bool:
    for running in svc.values():
        outbox = running.runtime.tables.outbox
        async with running.runtime.sessions() as session:
            unsent = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        if unsent:
            return False
    return True
