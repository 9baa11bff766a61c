"""Noticing that the broker lost events, so the outbox relay can publish them again by itself.

A broker can lose what it acknowledged: the embedded Tansu keeps its log in memory (a restart starts it
empty, its topics gone), and a Kafka cluster can lose an unreplicated tail. The outbox records, for every
published row, the partition and offset the broker acknowledged it at. From those the relay knows the
highest acknowledged offset of each partition, and the broker's log for a partition has been cut back
when

- at (re)connecting, the partition no longer holds, at that highest offset, the event the outbox put
  there, or the topic no longer has the partition (`cut_back`), or
- an acknowledgement comes at or below it (`PublishedOffsets.acknowledged`): offsets only grow in a
  log that lost nothing.

Where the lost part starts (`lost_from`): if the record just before the point the log now ends (or
the new acknowledgements start) is still the event the outbox put there, the log lost only its tail and
what the outbox published from that point on is re-published; otherwise the log was started again (a
restarted Tansu; the records before that point are new ones) and everything is. The relay marks those
rows unpublished (`republish`) so they go out once more; the consumers' inboxes drop the copies of what
they had already handled. Only rows published within the inbox's retention are re-published: an older
event's inbox id may be gone, and it was handled long ago.

A consumer reading the partition all along may by then stand past where the re-published events land:
its position is an offset of the old log, and the new one may already have grown beyond it with the
events it has not read (found by the fault probes: 39 of 200 approvals lost their commitment). So after
the re-published rows the relay puts a rewind marker on each cut partition (`rewind_marker_row`: a record
sent to that partition, with the `casework-rewind` header); a consumer that meets one reads the partition
again from its beginning, and its inbox drops what it had handled.

The marker must lie beyond every position a consumer can have: a consumer's position is at most the old
log's highest acknowledged offset + 1, but a log started again and refilled can hold the re-published
rows and the marker below that, so a consumer standing there would skip both (the fault probe: 29
approvals on one partition never reached contract-service, whose commit of its old position had
reached the new broker). So before re-publishing, the relay pads the partition (`pad`: records of a
type no consumer handles) up to that offset; what it then re-publishes, and the marker, come after.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework.db import PlatformTables
from casework.events.envelope import EventEnvelope
from casework.kafka_client import client_kwargs
from casework.settings import ServiceSettings

Partition = tuple[str, int]  # (topic, partition)
REWIND_HEADER = "casework-rewind"  # a rewind marker: its value is the marker's id
PARTITION_HEADER = "casework-partition"  # an outbox row sent to this partition (not the key's)
REWIND_EVENT = "casework.broker.log_restarted"  # no consumer handles it: one that does not know it ignores it
PADDING_EVENT = "casework.broker.padding"  # filler up to the old log's end: no consumer handles it either


class PublishedOffsets:
    """The highest offset the broker acknowledged per partition: loaded from the outbox, then kept up to
    date from each batch's acknowledgements."""

    def __init__(self) -> None:
        self.highest: dict[Partition, int] = {}
        self.loaded = False

    def acknowledged(self, acks: Iterable[tuple[str, int, int]]) -> dict[Partition, int]:
        """Take a batch's (topic, partition, offset) acknowledgements; returns, for each partition whose
        log was cut back, the offset its log restarted from (the batch's lowest there)."""
        batch: dict[Partition, list[int]] = {}
        for topic, partition, offset in acks:
            batch.setdefault((topic, partition), []).append(offset)
        cut: dict[Partition, int] = {}
        for key, offsets in batch.items():
            highest = self.highest.get(key)
            if highest is not None and min(offsets) <= highest:
                cut[key] = min(offsets)
            self.highest[key] = max(offsets)  # after a cut, the log's new numbering
        return cut

    def forget(self, cut: Mapping[Partition, int]) -> None:
        """After a cut found at connecting: the log now ends before `cut[key]`."""
        for key, end in cut.items():
            if end > 0:
                self.highest[key] = end - 1
            else:
                self.highest.pop(key, None)


class RewindsActedOn:
    """A consumer's memory of the rewind markers it has acted on, deciding whether one met now means
    reading its partition again: not when acted on already, and not when sent before the last one acted on
    there (that rewind read again everything this one would). Without the second rule a consumer that had
    rewound met every older marker on its way back up, each new to the process, and read the whole
    partition again for each one."""

    def __init__(self) -> None:
        self._markers: set[str] = set()
        self._last_sent_ms: dict[Partition, int] = {}

    def reads_again(self, partition: Partition, marker: str, sent_ms: int) -> bool:
        if marker in self._markers or sent_ms <= self._last_sent_ms.get(partition, -1):
            return False
        self._markers.add(marker)
        self._last_sent_ms[partition] = sent_ms
        return True


def window_start(settings: ServiceSettings) -> datetime:
    """Rows published before this are not re-published (their inbox ids may be gone)."""
    return datetime.now(UTC) - timedelta(seconds=settings.inbox_retention_s - 86400)


async def load(session: AsyncSession, tables: PlatformTables, settings: ServiceSettings) -> dict[Partition, int]:
    """The highest recorded offset per partition among the rows published within the window."""
    outbox = tables.outbox
    query = (
        select(outbox.c.topic, outbox.c.partition, func.max(outbox.c.offset))
        .where(outbox.c.published_at >= window_start(settings), outbox.c.offset.is_not(None))
        .group_by(outbox.c.topic, outbox.c.partition)
    )
    return {(topic, partition): highest for topic, partition, highest in (await session.execute(query)).all()}


async def cut_back(
    settings: ServiceSettings, highest: Mapping[Partition, int], recorded: Mapping[Partition, str]
) -> dict[Partition, int]:
    """The partitions whose log no longer holds, at the highest offset acknowledged there, the event the
    outbox recorded there, with the offset the log now ends at (0 for a partition the topic no longer
    has). `recorded` is the event id the outbox recorded at each highest offset (`recorded_at`)."""
    if not highest:
        return {}
    ends = await _end_offsets(settings, highest)
    # Neither a short end offset nor a long one is proof. Tansu 0.6 answers the start of the log's last
    # batch + 1, so after a batch of five an intact log looks four short of what it acknowledged. And a
    # restarted log may have grown past the highest offset before the relay looked: a batch sent after
    # the restart that half failed left its first partition's records there (CI: 31 of 200 approvals lost,
    # their partition taken for whole). The log is intact only where it still holds the very event.
    held = await _event_ids_at(settings, {key: highest[key] for key in ends})
    cut = {key: end for key, end in ends.items() if not _same_event(held.get(key), recorded.get(key))}
    # A topic the broker made again with fewer partitions: what was published to the others is gone.
    return cut | {key: 0 for key in highest if key not in ends}


def _same_event(on_broker: str | None, in_outbox: str | None) -> bool:
    return on_broker is not None and on_broker != "" and on_broker == in_outbox


async def recorded_at(
    session: AsyncSession, tables: PlatformTables, offsets: Mapping[Partition, int]
) -> dict[Partition, str]:
    """The event id the outbox recorded as published at each (topic, partition) offset (the newest, if
    a restarted log numbered two rows alike)."""
    outbox = tables.outbox
    found: dict[Partition, str] = {}
    for (topic, partition), offset in offsets.items():
        query = (
            select(outbox.c.event_id)
            .where(outbox.c.topic == topic, outbox.c.partition == partition, outbox.c.offset == offset)
            .order_by(outbox.c.published_at.desc())
            .limit(1)
        )
        if (event_id := await session.scalar(query)) is not None:
            found[(topic, partition)] = str(event_id)
    return found


async def lost_from(
    session: AsyncSession, tables: PlatformTables, settings: ServiceSettings, cut: Mapping[Partition, int]
) -> dict[Partition, int]:
    """For each cut partition, given the offset its log now ends at (or its new acknowledgements start
    from): the offset from which what the outbox published there was lost."""
    before_end = {key: end - 1 for key, end in cut.items() if end > 0}
    on_broker = await _event_ids_at(settings, before_end)
    in_outbox = await recorded_at(session, tables, before_end)
    # Only the tail was lost where the record before the end is still the outbox's; else the log was
    # started again and everything published there is lost.
    return {key: end if _same_event(on_broker.get(key), in_outbox.get(key)) else 0 for key, end in cut.items()}


async def _end_offsets(settings: ServiceSettings, partitions: Iterable[Partition]) -> dict[Partition, int]:
    """The broker's end offset of each (topic, partition) its topic has now (a partition it lacks is left
    out: asking for it would wait the whole request timeout for a leader that never comes)."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), request_timeout_ms=10_000)
    await consumer.start()
    try:
        await consumer.topics()  # metadata first: end offsets need each partition's leader
        existing = [TopicPartition(t, p) for t, p in partitions if p in (consumer.partitions_for_topic(t) or ())]
        if not existing:
            return {}
        ends: dict[Any, int] = await consumer.end_offsets(existing)
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}
    finally:
        await consumer.stop()


async def _event_ids_at(settings: ServiceSettings, offsets: Mapping[Partition, int]) -> dict[Partition, str]:
    """The event id of the record at each (topic, partition) offset, where the broker has one."""
    if not offsets:
        return {}
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, request_timeout_ms=10_000)
    await consumer.start()
    found: dict[Partition, str] = {}
    try:
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            try:
                record = await asyncio.wait_for(consumer.getone(tp), timeout=5)
            except TimeoutError:
                continue
            if record.offset == offset:
                found[(topic, partition)] = _event_id(record.value)
    finally:
        await consumer.stop()
    return found


def _event_id(value: bytes | None) -> str:
    """The envelope id of a record's value ("" for a record that is not an envelope)."""
    try:
        return str(json.loads(value or b"")["id"])
    except (ValueError, KeyError, TypeError):
        return ""


async def republish(
    session: AsyncSession,
    tables: PlatformTables,
    settings: ServiceSettings,
    cut: Mapping[Partition, int],
    keep: Iterable[int] = (),
) -> int:
    """Mark unpublished again the rows published to each cut partition at or after the offset its log
    now starts from (not the rows `keep`: the batch that was just acknowledged there)."""
    outbox = tables.outbox
    kept = list(keep)
    marked = 0
    for (topic, partition), start in cut.items():
        statement = (
            update(outbox)
            .where(
                outbox.c.topic == topic,
                outbox.c.partition == partition,
                outbox.c.offset >= start,
                outbox.c.published_at >= window_start(settings),
                outbox.c.event_type != REWIND_EVENT,  # an old marker: the new one follows these rows
            )
            .values(published_at=None, partition=None, offset=None)
        )
        if kept:
            statement = statement.where(outbox.c.id.not_in(kept))
        marked += int((await session.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE: a CursorResult
    return marked


async def old_ends(
    session: AsyncSession, tables: PlatformTables, settings: ServiceSettings, partitions: Iterable[Partition]
) -> dict[Partition, int]:
    """Per partition, the end the old log had: the highest offset the outbox recorded there within the
    window, + 1 (every replica's rows: the outbox is shared). Read before `republish` clears them."""
    outbox = tables.outbox
    ends: dict[Partition, int] = {}
    for topic, partition in partitions:
        query = select(func.max(outbox.c.offset)).where(
            outbox.c.topic == topic,
            outbox.c.partition == partition,
            outbox.c.published_at >= window_start(settings),
        )
        if (highest := await session.scalar(query)) is not None:
            ends[(topic, partition)] = int(highest) + 1
    return ends


async def pad(producer: AIOKafkaProducer, settings: ServiceSettings, up_to: Mapping[Partition, int]) -> int:
    """Fill each partition with padding records until its log ends at or past `up_to[partition]`, so
    that what is sent next lies beyond any position a consumer of the old log can have. Returns how
    many were sent. Tansu's end offset may be short of the true end by a batch: that only pads more."""
    if not up_to:
        return 0
    ends = await _end_offsets(settings, up_to)  # a partition the topic no longer has is not padded
    sends = []
    for (topic, partition), end in ends.items():
        for _ in range(max(0, up_to[(topic, partition)] - end)):
            filler = EventEnvelope(
                type=PADDING_EVENT,
                source=settings.service_name,
                subject=f"{topic}/{partition}",
                dataschema="casework:broker-padding/1",
                data={},
            )
            sends.append(await producer.send(topic, filler.to_bytes(), partition=partition))
    await asyncio.gather(*sends)
    return len(sends)


def rewind_envelope(source: str, topic: str, partition: int) -> EventEnvelope:
    """A rewind marker for one partition (its outbox row names the partition and the marker's id in the
    headers `PARTITION_HEADER` and `REWIND_HEADER`)."""
    return EventEnvelope(
        type=REWIND_EVENT,
        source=source,
        subject=f"{topic}/{partition}",
        dataschema="casework:broker-log-restarted/1",
        data={"topic": topic, "partition": partition},
    )


def rewind_marker(headers: Iterable[tuple[str, bytes]]) -> str | None:
    """The id of the rewind marker a consumed record is, or None for an event."""
    for key, value in headers:
        if key == REWIND_HEADER:
            return value.decode()
    return None
