"""Relay outages: an unreachable relay or one refusing our login costs no notification anything.

The acceptance (relay down during 500 notifications, all arrive once afterwards) runs here with a
shorter outage, NOTIFICATION_RELAY_OUTAGE_S (default 10 s) and NOTIFICATION_RELAY_OUTAGE_COUNT
(default 500); bench/notification_relay_outage.py runs the full 60 s / 500 case and prints figures.
Each test runs its own service: no other notification service may share the consumer group meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from notification_helpers import (
    FAST,
    budget_event,
    count,
    database,
    one_notification,
    publish_events,
    relay_counts,
    rows,
)

from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.models import Notification

OUTAGE_S = float(os.environ.get("NOTIFICATION_RELAY_OUTAGE_S", "10"))
OUTAGE_COUNT = int(os.environ.get("NOTIFICATION_RELAY_OUTAGE_COUNT", "500"))


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
