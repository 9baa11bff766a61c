"""Two notification-service replicas share the consumer group's partitions; SIGKILL of one mid-flow loses
nothing and doubles nothing.

600 `contract.budget.at_risk` events (one mail each) go to the bus while two replicas consume: both
handle some (each one's `casework_events_consumed_total`), then one is SIGKILLed while it works
through its share and the rest are still being produced. The survivor is given the dead one's partitions
once the group notices (the session timeout), reads again from the last committed offsets, and the
inbox drops what the dead one had already applied: exactly 600 notifications, one per event, no dead
letter; a marker event produced afterwards and seen queued shows the count is final. (A notification
also has a unique key on its event, template and recipient: a double would be refused twice over.)
"""

from __future__ import annotations

import asyncio
import uuid

from replicas import at_risk, metric
from sqlalchemy import text

from embedded_stack.testing import RunningService, TestStack, eventually, publish

EVENTS = 600
_QUEUED = text(
    "SELECT count(*) AS n, count(DISTINCT source_event_id) AS events FROM notifications WHERE case_reference LIKE :run"
)
_DEAD = text("SELECT count(*) FROM dead_letters")


async def _queued(svc: RunningService, run: str) -> tuple[int, int]:
    async with svc.runtime.sessions() as session:
        row = (await session.execute(_QUEUED, {"run": f"%{run}%"})).first()
    return (row.n, row.events) if row is not None else (0, 0)


def consumed(url: str) -> float:
    return metric(url, "casework_events_consumed_total", event_type="contract.budget.at_risk")


async def test_two_replicas_share_the_partitions_and_a_kill_loses_and_doubles_nothing(stack: TestStack) -> None:
    database = "notification_replica_consumers"
    run = uuid.uuid4().hex[:10]
    events = [at_risk(run, n) for n in range(EVENTS)]
    env = {"SEND_RATE_PER_S": "200", "SEND_RATE_BURST": "20"}
    async with stack.service("notification", database=database, run_workers=False) as db:
        with stack.served_replicas("notification", 2, database=database, **env) as replicas:
            producing = asyncio.create_task(publish(stack.bootstrap_servers, events))

            async def both_working() -> bool:
                return all(consumed(r.url) > 0 for r in replicas) and (await _queued(db, run))[0] >= EVENTS // 6

            await eventually(both_working, within=90)
            shares = [consumed(r.url) for r in replicas]
            victim = replicas[0]
            victim.kill()  # while events still arrive: it had handled some it had not committed yet
            at_kill = (await _queued(db, run))[0]
            await producing
            assert at_kill < EVENTS, "all were handled before the kill"

            async def all_queued() -> bool:
                return (await _queued(db, run))[0] >= EVENTS

            await eventually(all_queued, within=120, interval=0.2)
            marker = at_risk(f"{run}-marker", 0)
            await publish(stack.bootstrap_servers, [marker])
            await eventually(lambda: _has_marker(db, run), within=60)
            queued = await _queued(db, run)
            # what the survivor read again of the dead one's share and its inbox dropped (the offsets the
            # dead one had not committed yet: up to a second's worth)
            dropped = metric(replicas[1].url, "casework_events_consumed_total", outcome="duplicate")
            async with db.runtime.sessions() as session:
                dead = await session.scalar(_DEAD)
    assert queued == (EVENTS + 1, EVENTS + 1), f"notifications, events: {queued}"  # the marker's included
    assert dead == 0
    print(
        f"replica consumers: {EVENTS} events, consumed before the kill {shares}, {at_kill} queued at the kill, "
        f"{queued[0] - 1} notifications after (0 lost, 0 doubled), {dropped:g} redelivered and dropped by the inbox"
    )


async def _has_marker(svc: RunningService, run: str) -> bool:
    async with svc.runtime.sessions() as session:
        row = (await session.execute(_QUEUED, {"run": f"%{run}-marker%"})).first()
    return row is not None and row.n == 1
