"""Two replicas' outbox relays publishing one outbox: each event once and in the order written while both
live, every event at least once (first arrivals still in order) when the publishing one is SIGKILLed
mid-batch, and every row ends published.

What the relay guarantees (`casework.outbox.OutboxRelay.publish_batch`): a batch is up to
`OUTBOX_BATCH_SIZE` unpublished rows taken in id order `FOR UPDATE SKIP LOCKED`, sent with acks=all,
and marked published (with the partition and offset acknowledged) in the transaction that took them,
committed only after every acknowledgement. So while a relay holds a batch another skips those rows,
and once it commits they are published for everyone: two live relays never send the same row. A relay
that dies between sending and committing leaves its rows unpublished (its transaction is rolled back
when its connection drops, and the locks go with it); another relay takes them again and sends them
again: at least once, never lost, and the records the dead one had already got onto the broker are
there twice (consumers' inboxes drop the repeats). Order: one relay of a service publishes at a time
(a transaction-scoped advisory lock the others only try), and each sends its batch in id order, so a
partition, and one key's events, arrive in outbox id order; a copy sent again after a kill comes after
later rows by design, so order is counted on first arrivals. (Before the lock two relays sent batches
side by side and 10 to 206 of the 2,000 arrived after a later row of their key.)

2,000 `contract.budget.at_risk` events over 10 keys are written into contract-service's outbox (units of
work of an in-process service without workers: four commits, or one for the kill, so that both relays
are busy when it comes) while two served replicas relay in batches of 50; the topic is then read back
from its start.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from contract_fixtures import outbox_drained, read_to_end
from replicas import at_risk_data, metric
from sqlalchemy import text

from embedded_stack.testing import RunningService, TestStack, eventually

EVENTS = 2000
# The kill test's backlog: large enough that the kill (seen through the relays' metrics, polled over
# HTTP) comes while the relay still has batches to go on a fast machine too (one CI run on a fresh
# machine had all 2,000 published before the kill landed).
KILL_BACKLOG = 6000
KEYS = 10
RELAY = {"OUTBOX_BATCH_SIZE": "50", "OUTBOX_POLL_INTERVAL_S": "0.05"}
TOPIC = "contract.events"
_ROWS = text("SELECT event_id, id, published_at IS NOT NULL AS published FROM outbox_events WHERE event_id = ANY(:ids)")
_PUBLISHED = text("SELECT count(*) FROM outbox_events WHERE event_id = ANY(:ids) AND published_at IS NOT NULL")


def published(url: str) -> float:
    return metric(url, "casework_outbox_published_total", service="contract")


async def _write(svc: RunningService, run: str, transactions: int, events: int = EVENTS) -> list[uuid.UUID]:
    """`events` events into the outbox, in `transactions` commits; their ids."""
    ids: list[uuid.UUID] = []
    per = events // transactions
    for t in range(transactions):
        async with svc.runtime.unit_of_work() as uow:
            for n in range(t * per, (t + 1) * per):
                ids.append(uow.emit("contract.budget.at_risk", f"{run}-key-{n % KEYS}", at_risk_data(run, n)).id)
            await uow.commit()
    return ids


async def _published_count(svc: RunningService, ids: list[uuid.UUID]) -> int:
    async with svc.runtime.sessions() as session:
        return int(await session.scalar(_PUBLISHED, {"ids": ids}) or 0)


async def _read_back(stack: TestStack, svc: RunningService, ids: list[uuid.UUID]) -> dict[str, Any]:
    """What reached the topic of these events: copies per id, and first arrivals out of outbox id order
    on their partition and within their key."""
    async with svc.runtime.sessions() as session:
        rows = (await session.execute(_ROWS, {"ids": ids})).all()
    outbox_id = {str(r.event_id): r.id for r in rows}
    records = sorted(await read_to_end(stack.bootstrap_servers, TOPIC), key=lambda r: (r.partition, r.offset))
    copies: Counter[str] = Counter()
    highest_on_partition: dict[int, int] = {}
    highest_of_key: dict[bytes, int] = {}
    partition_inversions = key_inversions = 0
    for record in records:
        event_id = json.loads(record.value)["id"]
        if event_id not in outbox_id:
            continue  # other tests' events on the topic
        copies[event_id] += 1
        if copies[event_id] > 1:
            continue  # a copy sent again comes after later rows by design: order counted on first arrivals
        row = outbox_id[event_id]
        partition_inversions += row < highest_on_partition.get(record.partition, 0)
        key_inversions += row < highest_of_key.get(record.key, 0)
        highest_on_partition[record.partition] = max(row, highest_on_partition.get(record.partition, 0))
        highest_of_key[record.key] = max(row, highest_of_key.get(record.key, 0))
    return {
        "rows": len(rows),
        "unpublished": sum(not r.published for r in rows),
        "copies": copies,
        "partition_inversions": partition_inversions,
        "key_inversions": key_inversions,
    }


def _in_order(seen: dict[str, Any]) -> None:
    assert (seen["partition_inversions"], seen["key_inversions"]) == (0, 0), "first arrivals out of outbox order"


async def test_two_relays_publish_one_outbox_each_event_once_in_order(stack: TestStack) -> None:
    database = "contract_replica_outbox"
    run = uuid.uuid4().hex[:10]
    async with stack.service("contract", database=database, run_workers=False) as db:
        with stack.served_replicas("contract", 2, database=database, **RELAY) as replicas:
            ids = await _write(db, run, 4)
            await eventually(lambda: outbox_drained(db), within=120, interval=0.2)
            shares = [published(r.url) for r in replicas]
        seen = await _read_back(stack, db, ids)
    assert seen["rows"] == EVENTS and seen["unpublished"] == 0
    assert set(seen["copies"]) == {str(i) for i in ids}, "an event never reached the topic"
    assert set(seen["copies"].values()) == {1}, f"sent twice: {sum(seen['copies'].values()) - EVENTS}"
    assert sum(shares) == EVENTS, f"the relays' published counts: {shares}"
    _in_order(seen)
    print(f"replica outbox: {EVENTS} events, published by each relay {shares}, each once, in outbox order")


async def test_a_relay_killed_mid_publish_loses_nothing(stack: TestStack) -> None:
    database = "contract_replica_outbox_kill"
    run = uuid.uuid4().hex[:10]
    async with stack.service("contract", database=database, run_workers=False) as db:
        with stack.served_replicas("contract", 2, database=database, **RELAY) as replicas:
            # one commit: a backlog the publishing relay works through without a pause, so the kill
            # comes while it holds a batch (taken, being sent or acknowledged, not yet committed)
            ids = await _write(db, run, 1, KILL_BACKLOG)

            async def under_way() -> bool:
                return sum(published(r.url) for r in replicas) >= 300

            await eventually(under_way, within=90, interval=0.01)
            victim = max(replicas, key=lambda r: published(r.url))  # the one publishing (the other waits)
            survivor = next(r for r in replicas if r is not victim)
            by_victim = published(victim.url)
            victim.kill()
            at_kill = await _published_count(db, ids)
            assert at_kill < KILL_BACKLOG, "all were published before the kill"
            await eventually(lambda: outbox_drained(db), within=120, interval=0.2)
            by_survivor = published(survivor.url)
        seen = await _read_back(stack, db, ids)
    assert seen["rows"] == KILL_BACKLOG and seen["unpublished"] == 0
    assert set(seen["copies"]) == {str(i) for i in ids}, "an event never reached the topic"
    duplicates = sum(seen["copies"].values()) - KILL_BACKLOG
    _in_order(seen)
    print(
        f"replica outbox kill: {KILL_BACKLOG} events, the victim had published {by_victim:g} (its metric), {at_kill} "
        f"rows published at the kill; the survivor published {by_survivor:g}; every event on the "
        f"topic, {duplicates} sent twice ({sum(1 for c in seen['copies'].values() if c > 1)} events), all rows "
        f"published"
    )
