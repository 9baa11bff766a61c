"""Transactional outbox: events are rows written in the same transaction as the state change.

`OutboxRelay` publishes unpublished rows in id order with acks=all and marks them published only
after the broker acknowledged them, with the partition and offset it acknowledged each at. While the
broker is unreachable it backs off and retries; a row is never deleted unpublished. When the broker
turns out to have lost what it acknowledged (`casework.broker_loss`: a partition's log ends before what
was published there, at reconnecting or by an acknowledgement), the relay marks the lost rows
unpublished and sends them again by itself; consumers' inboxes drop the repeats. `replay_since` does
the same by hand from a point in time (`casework outbox-replay`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.structs import RecordMetadata
from sqlalchemy import BigInteger, Integer, Row, Text, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework import broker_loss
from casework.bus import ensure_topics, new_producer, with_dead_letter_topics
from casework.db import PlatformTables
from casework.events.envelope import EventEnvelope
from casework.logs import get_logger
from casework.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED, OUTBOX_REPUBLISHED
from casework.settings import ServiceSettings
from casework.shutdown import finish_within
from casework.worker import Backoff, Worker

log = get_logger(__name__)
_RELAY_LOCK = "casework outbox relay"  # the advisory lock's name (each service has its own database)


def outbox_row(
    envelope: EventEnvelope, topic: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
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
        self._offsets = broker_loss.PublishedOffsets()
        # Built once (casework.prepared): the relay runs these for every batch.
        outbox = tables.outbox
        self._take = (
            select(
                outbox.c.id,
                outbox.c.topic,
                outbox.c.message_key,
                cast(outbox.c.envelope, Text).label("envelope"),
                outbox.c.headers,
                _age_s(outbox.c.created_at).label("age_s"),
            )
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(bindparam("batch"))
            .with_for_update(skip_locked=True)
        )
        acked = (
            select(
                func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).label("id"),
                func.unnest(bindparam("partitions", type_=ARRAY(Integer))).label("partition"),
                func.unnest(bindparam("offsets", type_=ARRAY(BigInteger))).label("offset"),
            )
        ).subquery("acked")
        # One relay of the service publishes at a time: two taking batches side by side sent one key's
        # events out of the order they were written (10 to 206 of 2,000 in test_replica_outbox before
        # this). The lock is transaction-scoped, so a relay that dies mid-batch releases it with its
        # connection; the others only try it (they never wait holding a connection).
        self._one_relay = select(func.pg_try_advisory_xact_lock(func.hashtext(literal(_RELAY_LOCK))))
        self._published = (
            update(outbox)
            .where(outbox.c.id == acked.c.id)
            .values(published_at=func.now(), partition=acked.c.partition, offset=acked.c.offset)
        )

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they go out without waiting a poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish batch after batch; a batch short of OUTBOX_BATCH_SIZE drained the outbox, so the relay
        then waits for a commit's wake-up or OUTBOX_POLL_INTERVAL_S. While the broker or the database is
        unreachable it keeps the rows, drops its producer and retries with backoff."""
        worker = Worker(
            "outbox-relay",
            self._publish_round,
            service=self._settings.service_name,
            poll_s=lambda: self._settings.outbox_poll_interval_s,
            wake=self._wake,
            backoff=Backoff(base_s=0.1, cap_s=5.0),
            on_failure=lambda _exc: self._drop_producer(),
            failure_message="outbox publish failed; will retry",
        )
        await worker.run()

    async def _publish_round(self) -> bool:
        return await self.publish_batch() >= self._settings.outbox_batch_size

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self._settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            # A broker that restarted with empty memory has lost its topics too.
            await ensure_topics(self._settings, self._topics)
            try:
                await self._check_for_loss(producer)
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _check_for_loss(self, producer: AIOKafkaProducer) -> None:
        """At (re)connecting: did the broker lose what it acknowledged while we were away?"""
        if not self._offsets.loaded:
            async with self._sessions() as session:
                self._offsets.highest.update(await broker_loss.load(session, self._tables, self._settings))
            self._offsets.loaded = True
        async with self._sessions() as session:
            recorded = await broker_loss.recorded_at(session, self._tables, self._offsets.highest)
        cut = await broker_loss.cut_back(self._settings, self._offsets.highest, recorded)
        if cut:
            async with self._sessions() as session, session.begin():
                start = await broker_loss.lost_from(session, self._tables, self._settings, cut)
                marked = await self._publish_again(session, producer, start)
            self._offsets.forget(cut)
            self._lost(start, marked, "at reconnecting")

    async def _drop_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await finish_within(producer.stop(), 5, "outbox producer stop")

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows went out. Raises when the broker fails."""
        batch_ids: list[int] = []
        try:
            async with self._sessions() as session, session.begin():
                if not await session.scalar(self._one_relay):
                    return 0  # another replica's relay is publishing: it drains the outbox in id order
                rows = (await session.execute(self._take, {"batch": self._settings.outbox_batch_size})).all()
                if not rows:
                    OUTBOX_BACKLOG.labels(self._settings.service_name).set(0)
                    OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(0)
                    return 0
                # the first row is the oldest (id order): while the broker is away this grows at each retry
                OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(float(rows[0].age_s))
                batch_ids = [r.id for r in rows]
                acks = await self._send_all(rows)
                await session.execute(
                    self._published,
                    {"ids": batch_ids, "partitions": [a.partition for a in acks], "offsets": [a.offset for a in acks]},
                )
                if cut := self._offsets.acknowledged((a.topic, a.partition, a.offset) for a in acks):
                    start = await broker_loss.lost_from(session, self._tables, self._settings, cut)
                    marked = await self._publish_again(session, await self._ready_producer(), start, batch_ids)
                    self._lost(start, marked, "by its acknowledgements")
        except Exception as exc:
            if batch_ids:  # the batch transaction has rolled back and released its row locks
                await self._record_failure(batch_ids, exc)
            raise
        OUTBOX_PUBLISHED.labels(self._settings.service_name).inc(len(batch_ids))
        if len(batch_ids) < self._settings.outbox_batch_size:  # the outbox is drained, as this relay sees it
            OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(0)
        return len(batch_ids)

    async def _publish_again(
        self,
        session: AsyncSession,
        producer: AIOKafkaProducer,
        start: dict[broker_loss.Partition, int],
        keep: Iterable[int] = (),
    ) -> int:
        """The rows the broker lost marked unpublished, and after them (a higher id: published later) a
        rewind marker on every partition of each cut topic, so consumers that stand past the re-published
        rows in the new log read it again from the start (see casework.broker_loss). Every partition: a
        row goes out again by its key, and a topic the broker made again may have other partitions."""
        old_ends = await broker_loss.old_ends(session, self._tables, self._settings, start)
        padded = await broker_loss.pad(producer, self._settings, old_ends)
        if padded:
            log.warning("padded cut partitions up to their old ends", records=padded, ends=_named(old_ends))
        marked = await broker_loss.republish(session, self._tables, self._settings, start, keep)
        for topic, partition in sorted(await self._marker_partitions(producer, start)):
            marker = broker_loss.rewind_envelope(self._settings.service_name, topic, partition)
            headers = {broker_loss.REWIND_HEADER: str(marker.id), broker_loss.PARTITION_HEADER: str(partition)}
            await session.execute(insert(self._tables.outbox).values(**outbox_row(marker, topic, headers)))
        return marked

    @staticmethod
    async def _marker_partitions(
        producer: AIOKafkaProducer, start: dict[broker_loss.Partition, int]
    ) -> set[broker_loss.Partition]:
        """Every partition the cut topics have now; a cut partition the topic no longer has gets none (a
        record for it could never be sent, and would hold up the outbox behind it)."""
        partitions: set[broker_loss.Partition] = set()
        for topic in {t for t, _ in start}:
            known = await producer.partitions_for(topic) or {p for t, p in start if t == topic}
            partitions |= {(topic, p) for p in known}
        return partitions

    def _lost(self, cut: dict[broker_loss.Partition, int], marked: int, noticed: str) -> None:
        OUTBOX_REPUBLISHED.labels(self._settings.service_name).inc(marked)
        log.warning(
            "the broker lost published events; publishing them again",
            noticed=noticed,
            partitions=_named(cut),
            events=marked,
        )
        self.wake()

    async def _send_all(self, rows: Sequence[Row[Any]]) -> list[RecordMetadata]:
        producer = await self._ready_producer()
        sends = []
        for row in rows:
            key = row.message_key.encode()
            named = _partition_of(row.headers)
            sends.append(
                await producer.send(
                    row.topic,
                    value=row.envelope.encode(),  # the stored JSON as it is: no decode and encode again
                    key=key,
                    headers=kafka_headers(row.headers),
                    partition=named if named is not None else await self._partition_for(producer, row.topic, key),
                )
            )
        return list(await asyncio.gather(*sends))

    async def _partition_for(self, producer: AIOKafkaProducer, topic: str, key: bytes) -> int:
        """The key's partition among the partitions the platform made the topic with (`topic_layout`), not
        among all the broker has: a broker that came back empty makes a topic again by itself with its own
        count (Tansu: 4 for our 3), and consumers that joined before may never be given the extra one (the
        fault probe: every approval sent to the fourth partition missed contract-service)."""
        configured, _ = self._settings.topic_layout(topic)
        available = len(await producer.partitions_for(topic) or ()) or configured
        return key_partition(key, min(configured, available))

    async def _record_failure(self, ids: list[int], exc: Exception) -> None:
        outbox = self._tables.outbox
        async with self._sessions() as other, other.begin():
            await other.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(attempts=outbox.c.attempts + 1, last_error=repr(exc)[:2000])
            )

    async def backlog(self) -> int:
        """How many events wait (and how old the oldest is), for the metrics: run at each scrape."""
        outbox = self._tables.outbox
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), _age_s(func.min(outbox.c.created_at))).where(outbox.c.published_at.is_(None))
                )
            ).one()
        OUTBOX_BACKLOG.labels(self._settings.service_name).set(count or 0)
        OUTBOX_OLDEST_AGE.labels(self._settings.service_name).set(float(oldest or 0))
        return int(count or 0)

    async def close(self) -> None:
        await self._drop_producer()


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a key among `partitions`: Kafka's default (murmur2, as the Java client and
    aiokafka hash), so a key keeps its partition whoever sends it."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def _named(by_partition: dict[broker_loss.Partition, int]) -> dict[str, int]:
    return {f"{t}/{p}": value for (t, p), value in by_partition.items()}


def kafka_headers(headers: dict[str, Any]) -> list[tuple[str, bytes]]:
    """An outbox row's headers as the Kafka record carries them (the trace context among them)."""
    return [(k, str(v).encode()) for k, v in headers.items()]


def _age_s(created_at: Any) -> Any:
    """Seconds since `created_at`, by the database's clock (the one that wrote it)."""
    return func.extract("epoch", func.clock_timestamp() - created_at)


def _partition_of(headers: dict[str, Any]) -> int | None:
    """The partition a row names (a rewind marker's), else None: the key's, by the partitioner."""
    named = headers.get(broker_loss.PARTITION_HEADER)
    return int(named) if named is not None else None


async def replay_since(sessions: async_sessionmaker[AsyncSession], tables: PlatformTables, since: datetime) -> int:
    """Mark every event created at or after `since` unpublished again; the relay re-sends them."""
    outbox = tables.outbox
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(outbox)
            .where(outbox.c.created_at >= since, outbox.c.published_at.is_not(None))
            .values(published_at=None)
        )
    return int(getattr(result, "rowcount", 0) or 0)  # an UPDATE's CursorResult
