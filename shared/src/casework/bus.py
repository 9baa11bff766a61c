"""Kafka plumbing: producer settings and topic creation.

The Tansu broker used in the embedded run supports neither idempotent nor transactional producers
(see PLATFORM.md), so producers use acks=all without idempotence; the outbox and the inbox give the
no-loss, no-duplicate-effect guarantees instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from casework.events.envelope import dead_letter_topic
from casework.settings import ServiceSettings


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        request_timeout_ms=10_000,
        client_id=f"{settings.service_name}-producer",
    )


def with_dead_letter_topics(topics: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(topics))
    return names + [dead_letter_topic(t) for t in names]


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], partitions: int = 3, replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor) for t in missing], timeout_ms=10_000
                )
            except TopicAlreadyExistsError:
                pass  # another service created it between our list and create
        return missing
    finally:
        await admin.close()
