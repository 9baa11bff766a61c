"""Transactional outbox: events are rows written in the same transaction as the state change.

`OutboxRelay` publishes unpublished rows in id order with acks=all and marks them published only
after the broker acknowledged them. While the broker is unreachable it backs off and retries; a row
is never deleted unpublished. `replay_since` marks rows unpublished again so a broker that lost its
log (the embedded Tansu keeps data in memory) can be refilled; consumers' inboxes drop the repeats.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import Text, bindparam, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.backoff import backoff_delay
from casework.bus import ensure_topics, new_producer, with_dead_letter_topics
from casework.db import PlatformTables
from casework.events.envelope import EventEnvelope
from casework.logs import get_logger
from casework.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from casework.periodic import wait_for_wake
from casework.settings import ServiceSettings
from casework.shutdown import finish_within

log = get_logger(__name__)


def outbox_row(envelope: EventEnvelope, topic: str | None = None, headers: dict | None = None) -> dict:
    return {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "topic": topic or envelope.topic,
        "message_key": envelope.subject,
        "envelope": json.loads(envelope.model_dump_json()),
        "headers": headers or {},
    }


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        settings: ServiceSettings,
        topics: Iterable[str],
    ) -> None:
        self._sessions = sessions
        self._tables = tables
        self._settings = settings
        self._topics = with_dead_letter_topics(topics)
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._failures = 0
        # Built once (casework.prepared): the relay runs these for every batch.
        outbox = tables.outbox
        self._take = (
            select(
                outbox.c.id,
                outbox.c.topic,
                outbox.c.message_key,
                cast(outbox.c.envelope, Text).label("envelope"),
                outbox.c.headers,
            )
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(bindparam("batch"))
            .with_for_update(skip_locked=True)
        )
        self._published = (
            update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True))).values(published_at=func.now())
        )

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they go out without waiting a poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_batch()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database unreachable: keep the rows, retry later
                self._failures += 1
                delay = backoff_delay(self._failures, base=0.1, cap=5.0)
                log.warning("outbox publish failed; will retry", error=repr(exc), retry_in_s=round(delay, 3))
                await self._drop_producer()
                await asyncio.sleep(delay)
                continue
            if published < self._settings.outbox_batch_size:
                await self._wait_for_work()

    async def _wait_for_work(self) -> None:
        await wait_for_wake(self._wake, self._settings.outbox_poll_interval_s)

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self._settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            # A broker that restarted with empty memory has lost its topics too.
            await ensure_topics(
                self._settings.kafka_bootstrap_servers,
                self._topics,
                self._settings.kafka_topic_partitions,
                self._settings.kafka_replication_factor,
            )
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await finish_within(producer.stop(), 5, "outbox producer stop")

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows went out. Raises when the broker fails."""
        batch_ids: list[int] = []
        try:
            async with self._sessions() as session, session.begin():
                rows = (await session.execute(self._take, {"batch": self._settings.outbox_batch_size})).all()
                if not rows:
                    OUTBOX_BACKLOG.labels(self._settings.service_name).set(0)
                    return 0
                batch_ids = [r.id for r in rows]
                await self._send_all(rows)
                await session.execute(self._published, {"ids": batch_ids})
        except Exception as exc:
            if batch_ids:  # the batch transaction has rolled back and released its row locks
                await self._record_failure(batch_ids, exc)
            raise
        OUTBOX_PUBLISHED.labels(self._settings.service_name).inc(len(batch_ids))
        return len(batch_ids)

    async def _send_all(self, rows: list) -> None:
        producer = await self._ready_producer()
        sends = [
            await producer.send(
                row.topic,
                value=row.envelope.encode(),  # the stored JSON as it is: no decode and encode again
                key=row.message_key.encode(),
                headers=[(k, str(v).encode()) for k, v in row.headers.items()],
            )
            for row in rows
        ]
        await asyncio.gather(*sends)

    async def _record_failure(self, ids: list[int], exc: Exception) -> None:
        outbox = self._tables.outbox
        async with self._sessions() as other, other.begin():
            await other.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(attempts=outbox.c.attempts + 1, last_error=repr(exc)[:2000])
            )

    async def backlog(self) -> int:
        outbox = self._tables.outbox
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        OUTBOX_BACKLOG.labels(self._settings.service_name).set(count or 0)
        return int(count or 0)

    async def close(self) -> None:
        await self._drop_producer()


async def replay_since(sessions: async_sessionmaker[AsyncSession], tables: PlatformTables, since: datetime) -> int:
    """Mark every event created at or after `since` unpublished again; the relay re-sends them."""
    outbox = tables.outbox
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(outbox)
            .where(outbox.c.created_at >= since, outbox.c.published_at.is_not(None))
            .values(published_at=None)
        )
    return int(result.rowcount or 0)
