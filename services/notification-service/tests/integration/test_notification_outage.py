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
        # three more refused logins: the paused sender has probed the relay again and again meanwhile
        probes = stack.relay.logins_refused + 3
        await eventually(lambda: stack.relay.logins_refused >= probes, within=30)
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
    # other tests' budget events may reach this service too: count only this run's (BUDGET-RRV-<run>-n)
    fy = Notification.case_reference.startswith(f"BUDGET-RRV-{run}-")
    async with stack.service("notification", database=database(f"outage_{run}"), **FAST) as svc:
        stack.relay.stop()
        stopped_at = time.monotonic()
        try:
            await publish_events(stack, [budget_event(run, n) for n in range(OUTAGE_COUNT)])
            await eventually(lambda: _count_is(svc, OUTAGE_COUNT, fy), within=120)
            await asyncio.sleep(max(OUTAGE_S - (time.monotonic() - stopped_at), 0))
            during = await rows(svc, fy)
            assert {n.status for n in during} <= {"queued", "sending"}, "an outage must fail nothing"
            assert {n.attempts for n in during} == {0}, "an unreachable relay costs no attempts"
        finally:
            stack.relay.start()
        back_at = time.monotonic()
        await eventually(lambda: _count_is(svc, OUTAGE_COUNT, fy, Notification.status == "sent"), within=120)
        drain_s = time.monotonic() - back_at
        delivered = await rows(svc, fy)
        message_ids = {n.message_id for n in delivered}
        counts = relay_counts(stack, message_ids)
        assert len(message_ids) == OUTAGE_COUNT
        assert sorted(set(counts.values())) == [1] and len(counts) == OUTAGE_COUNT  # all, each once
        assert {n.attempts for n in delivered} == {1}
        print(f"outage {OUTAGE_S:.0f}s, {OUTAGE_COUNT} notifications: drained in {drain_s:.1f}s after recovery")


async def _count_is(svc: RunningService, expected: int, *where: object) -> bool:
    return await count(svc, *where) == expected


async def test_postgresql_stopped_mid_batch_sends_no_message_twice(stack: TestStack) -> None:
    """The relay takes messages while the database is away: their outcomes are written once it is back,
    inside the claim's lease, so no message is sent again (the fault probe's outage sent 20 twice)."""
    run = uuid.uuid4().hex[:8]
    total = 40
    fy = Notification.case_reference.startswith(f"BUDGET-RRV-{run}-")
    # 10 a second: the batch takes 4 s, so the outage falls inside it; a lease short enough that a
    # dropped outcome would be sent again within the test
    paced = {**FAST, "send_rate_per_s": 10.0, "send_rate_burst": 1.0, "send_batch_size": total, "send_lease_s": 20.0}
    async with stack.service("notification", database=database(f"pg_outage_{run}"), **paced) as svc:
        await publish_events(stack, [budget_event(run, n) for n in range(total)])
        await eventually(lambda: _count_is(svc, total, fy), within=60)
        message_ids = {n.message_id for n in await rows(svc, fy)}
        await eventually(lambda: len(relay_counts(stack, message_ids)) >= 3, within=30)
        stack.postgres.stop("immediate")
        try:
            sent_at_stop = len(relay_counts(stack, message_ids))
            await asyncio.sleep(3)  # outcome writes fail meanwhile
        finally:
            stack.postgres.start()
        await eventually(lambda: _count_is(svc, total, fy, Notification.status == "sent"), within=90)
        # all `sent`: none is left in a claim, so no copy can still come (a dropped outcome's row stays
        # `sending` until its lease ends, and is then sent again before it turns `sent`)
        counts = relay_counts(stack, message_ids)
        assert sent_at_stop < total  # the outage fell inside the batch
        assert len(counts) == total and sorted(set(counts.values())) == [1]  # all, each once
