"""Sending through the relay: permanent and temporary refusals, relay outages, resend.

The relay outage acceptance runs here with a shorter outage (NOTIFICATION_RELAY_OUTAGE_S, default
10 s); bench/notification_relay_outage.py runs the full 60 s / 500 case and prints its figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from notification_helpers import FAST, STAFF, count, database, publish_events, refused, relay_counts, rows

from embedded_stack.testing import RunningService, TestStack, eventually, read_topic
from notification_service.db.models import Notification

OUTAGE_S = float(os.environ.get("NOTIFICATION_RELAY_OUTAGE_S", "10"))
OUTAGE_COUNT = int(os.environ.get("NOTIFICATION_RELAY_OUTAGE_COUNT", "500"))


def budget_event(run: str, n: int = 0) -> tuple[str, str, dict[str, object]]:
    """One event, one recipient (the central finance mailbox)."""
    line = str(uuid.uuid4())
    return (
        "contract.budget.at_risk",
        line,
        {
            "provider_ods": "RRV",
            "financial_year": f"{run}-{n:04d}",
            "budget_line_id": line,
            "line_name": "CDF drugs",
            "budget": "1000.00",
            "forecast_outturn": "1200.00",
            "variance": "200.00",
            "margin_pct": "5",
        },
    )


@pytest.fixture
async def sender(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database("sending"), **FAST) as svc:
        yield svc
    stack.relay.accept()


async def one_notification(svc: RunningService, event_id: uuid.UUID, *statuses: str) -> Notification:
    async def reached() -> Notification | None:
        found = await rows(svc, Notification.source_event_id == event_id)
        return found[0] if found and found[0].status in statuses else None

    return await eventually(reached)


async def test_a_5xx_reply_fails_at_once_with_the_reason_and_is_not_retried(
    stack: TestStack, sender: RunningService
) -> None:
    stack.relay.refuse(554, "5.7.1 Message rejected by policy")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    failed = await one_notification(sender, event_id, "failed")
    assert failed.last_error == "554 5.7.1 Message rejected by policy"
    assert failed.attempts == 1
    # long enough for dozens of retries at FAST settings: still exactly one try at the relay
    await asyncio.sleep(1.5)
    assert refused(stack, failed.message_id) == 1
    (again,) = await rows(sender, Notification.id == failed.id)
    assert (again.status, again.attempts) == ("failed", 1)
    events = [json.loads(r.value) for r in await read_topic(stack.bootstrap_servers, "notification.events", 0.3)]
    outcome = [e for e in events if e["subject"] == str(failed.id)]
    assert [(e["type"], e["data"]["error"], e["data"]["attempts"]) for e in outcome] == [
        ("notification.failed", "554 5.7.1 Message rejected by policy", 1)
    ]


async def test_a_4xx_reply_is_retried_with_backoff_then_sent(stack: TestStack, sender: RunningService) -> None:
    stack.relay.refuse(451, "4.3.0 Try again later")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    queued = await one_notification(sender, event_id, "queued", "sending")
    await eventually(lambda: refused(stack, queued.message_id) >= 3)
    stack.relay.accept()
    sent = await one_notification(sender, event_id, "sent")
    tries = refused(stack, sent.message_id)
    assert sent.attempts == tries + 1  # every 451 was one attempt, then the delivery
    assert sent.last_error is None and sent.sent_at is not None
    assert relay_counts(stack, {sent.message_id}) == {sent.message_id: 1}


async def test_a_relay_refusing_our_login_fails_no_notification(stack: TestStack) -> None:
    async with stack.service(
        "notification", database=database("sending"), smtp_password="not-the-password", **FAST
    ) as svc:
        (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
        await eventually(lambda: _released_with(svc, event_id, "535"))
        await asyncio.sleep(1.0)  # several relay probes later
        (waiting,) = await rows(svc, Notification.source_event_id == event_id)
        assert (waiting.status, waiting.attempts) == ("queued", 0)
    # the right password: the same queue drains (another sender, same database)
    async with stack.service("notification", database=database("sending"), **FAST) as svc:
        sent = await one_notification(svc, event_id, "sent")
        assert sent.attempts == 1


async def _released_with(svc: RunningService, event_id: uuid.UUID, text: str) -> bool:
    found = await rows(svc, Notification.source_event_id == event_id)
    return bool(found) and found[0].status == "queued" and text in (found[0].last_error or "")


async def test_resend_puts_a_failed_notification_back_with_the_same_message_id(
    stack: TestStack, sender: RunningService
) -> None:
    stack.relay.refuse(550, "5.1.1 Mailbox unavailable")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    failed = await one_notification(sender, event_id, "failed")
    stack.relay.accept()
    path = f"/api/v1/notifications/{failed.id}"
    staff = stack.auth(*STAFF)
    shown = await sender.client.get(path, headers=staff)
    etag = shown.headers["ETag"]
    assert shown.json()["status"] == "failed"

    no_precondition = await sender.client.post(f"{path}/resend", headers=staff)
    assert no_precondition.status_code == 428
    stale = await sender.client.post(f"{path}/resend", headers={**staff, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    provider = await sender.client.post(
        f"{path}/resend", headers={**stack.auth("RRV", "trust_cdf_lead"), "If-Match": etag}
    )
    assert provider.status_code == 403
    resent = await sender.client.post(
        f"{path}/resend", headers={**staff, "If-Match": etag}, json={"reason": "mailbox fixed"}
    )
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["attempts"]) == ("queued", 0)

    sent = await one_notification(sender, event_id, "sent")
    assert relay_counts(stack, {failed.message_id}) == {failed.message_id: 1}
    again = await sender.client.post(f"{path}/resend", headers={**staff, "If-Match": f'W/"{sent.version}"'})
    assert again.status_code == 409
    assert again.json()["current_state"] == "sent" and again.json()["allowed_actions"] == []


async def test_relay_outage_fails_nothing_and_every_message_arrives_once(stack: TestStack) -> None:
    """Acceptance: relay down during N notifications -> after it returns all arrive, each once."""
    run = uuid.uuid4().hex[:8]
    fy = Notification.template == "contract_budget_at_risk"
    async with stack.service("notification", database=database(f"outage_{run}"), **FAST) as svc:
        stack.relay.stop()
        stopped_at = time.monotonic()
        try:
            await publish_events(stack, [budget_event(run, n) for n in range(OUTAGE_COUNT)])
            await eventually(lambda: _queued_all(svc, OUTAGE_COUNT), within=120)
            await asyncio.sleep(max(OUTAGE_S - (time.monotonic() - stopped_at), 0))
            during = await rows(svc, fy)
            assert {n.status for n in during} <= {"queued", "sending"}, "an outage must fail nothing"
            assert {n.attempts for n in during} == {0}, "an unreachable relay costs no attempts"
        finally:
            stack.relay.start()
        back_at = time.monotonic()
        await eventually(lambda: _sent_all(svc, OUTAGE_COUNT), within=120)
        drain_s = time.monotonic() - back_at
        delivered = await rows(svc, fy)
        message_ids = {n.message_id for n in delivered}
        counts = relay_counts(stack, message_ids)
        assert len(message_ids) == OUTAGE_COUNT
        assert sorted(set(counts.values())) == [1] and len(counts) == OUTAGE_COUNT  # all, each once
        assert {n.attempts for n in delivered} == {1}
        print(f"outage {OUTAGE_S:.0f}s, {OUTAGE_COUNT} notifications: drained in {drain_s:.1f}s after recovery")


async def _queued_all(svc: RunningService, expected: int) -> bool:
    return await count(svc, Notification.template == "contract_budget_at_risk") == expected


async def _sent_all(svc: RunningService, expected: int) -> bool:
    where = (Notification.template == "contract_budget_at_risk", Notification.status == "sent")
    return await count(svc, *where) == expected
