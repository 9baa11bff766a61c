"""What became of events, as a test checks it: every record on a topic of the test stack's broker;
whether a consumer group has handled everything on its topics (for "no second effect" checks without
guessing a delay); and how many events this process's consumers ended with an outcome (processed,
duplicate, ...). Putting events on the broker is embedded_stack.testing's (`envelope_for`, `publish`)."""

from __future__ import annotations

import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def read_topic(bootstrap_servers: str, topic: str, idle_s: float = 1.0) -> list[Any]:
    """Every record on a topic from the beginning (a fresh consumer group), until idle."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=5000)
            if not batch:
                return records
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()


async def caught_up(bootstrap_servers: str, group: str, topics: list[str]) -> bool:
    """True once consumer group `group` has committed, on every partition of `topics`, the partition's end:
    everything on those topics up to now has been handled (a consumer commits only what it handled), so a
    test can count "no second effect" after it without guessing how long a redelivery takes."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await reader.start()
    await admin.start()
    try:
        await reader.topics()  # the cluster's metadata, so every topic's partitions are known
        parts = [TopicPartition(t, p) for t in topics for p in reader.partitions_for_topic(t) or ()]
        ends = await reader.end_offsets(parts)
        committed = await admin.list_consumer_group_offsets(group, partitions=parts)
    finally:
        await reader.stop()
        await admin.close()
    done = {tp: max(meta.offset, 0) for tp, meta in committed.items() if meta is not None}  # -1: none yet
    return all(done.get(tp, 0) >= end for tp, end in ends.items())


def events_consumed(service: str, event_type: str, outcome: str) -> int:
    """How many `event_type` events the `service` consumers of this process ended with `outcome` (processed,
    duplicate, ...): a test sees a handler run twice even where the effect itself is idempotent."""
    from prometheus_client import REGISTRY

    labels = {"service": service, "event_type": event_type, "outcome": outcome}
    return int(REGISTRY.get_sample_value("casework_events_consumed_total", labels) or 0)
