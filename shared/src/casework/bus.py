"""Kafka plumbing: producer settings and topic creation.

Producers wait for all in-sync replicas (acks=all) and are idempotent by default
(`KAFKA_ENABLE_IDEMPOTENCE`), so a retried send after a lost acknowledgement is not written twice. The
Tansu broker of the embedded run supports neither idempotent nor transactional producers (see
PLATFORM.md), so the embedded run turns idempotence off; the outbox and the inbox give the no-loss,
no-duplicate-effect guarantees either way.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from casework.events.envelope import dead_letter_topic
from casework.kafka_client import client_kwargs
from casework.settings import ServiceSettings


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_kwargs(settings),
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=0,
        request_timeout_ms=10_000,
        client_id=f"{settings.service_name}-producer",
    )


def with_dead_letter_topics(topics: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(topics))
    return names + [dead_letter_topic(t) for t in names]


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> list[str]:
    """Create the topics that do not exist yet, each with its partitions and replication factor from the
    settings (`KAFKA_TOPICS`, else `KAFKA_TOPIC_PARTITIONS` / `KAFKA_REPLICATION_FACTOR`); returns the ones
    created. A topic that exists is left as it is."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics([NewTopic(t, *settings.topic_layout(t)) for t in missing], timeout_ms=10_000)
            except TopicAlreadyExistsError:
                pass  # another service created it between our list and create
        return missing
    finally:
        await admin.close()
