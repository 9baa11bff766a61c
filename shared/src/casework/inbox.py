"""Idempotent inbox: each consumed event has its effect exactly once.

The handler's effect and the row recording the event id in `inbox_events` commit in one transaction,
so a redelivered event (after a crash, a rebalance or an outbox replay) finds its id and does nothing.
A failing handler is retried with backoff; after `consumer_max_retries` the event is dead-lettered:
kept in `dead_letters` (admin list and replay) and published to `<topic>.dlq` through the outbox.
Offsets are committed only after the batch is handled, so a killed consumer loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import func

from casework.backoff import backoff_delay
from casework.correlation import causation_id, correlation_id
from casework.events.envelope import EventEnvelope, dead_letter_topic
from casework.logs import get_logger
from casework.metrics import DEAD_LETTERS, EVENTS_CONSUMED
from casework.shutdown import finish_within
from casework.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    envelope: EventEnvelope
    payload: BaseModel


Handler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]


class DeadLetterReplayError(Exception):
    pass


@dataclass(frozen=True)
class Delivery:
    """Where an event came from: a Kafka record, or a dead letter being replayed."""

    topic: str
    partition: int | None
    offset: int | None
    raw: bytes


class EventConsumer:
    def __init__(
        self,
        runtime: Any,  # casework.runtime.ServiceRuntime (import cycle otherwise)
        handlers: Mapping[str, Handler],
        consumer_name: str | None = None,
    ) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._handlers = dict(handlers)
        self.name = consumer_name or f"{self._settings.service_name}-service"
        self.topics = sorted({runtime.registry.get(t).topic for t in self._handlers})
        self._consumer: AIOKafkaConsumer | None = None

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._ensure_started()
                batch = await self._consumer.getmany(timeout_ms=1000, max_records=500)  # type: ignore[union-attr]
                for records in batch.values():
                    for record in records:
                        await self.deliver(Delivery(record.topic, record.partition, record.offset, record.value))
                if batch:
                    await self._consumer.commit()  # type: ignore[union-attr]
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone or rebalance: uncommitted records come again
                failures += 1
                delay = backoff_delay(failures, base=0.2, cap=5.0)
                log.warning("consumer loop error; restarting", error=repr(exc), retry_in_s=round(delay, 3))
                await self._stop_consumer()
                await asyncio.sleep(delay)

    async def _ensure_started(self) -> None:
        if self._consumer is not None:
            return
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self._settings.kafka_rebalance_timeout_ms,
        )
        try:
            await consumer.start()
        except BaseException:
            # Joining a group can take a session timeout; a shutdown must not wait for it.
            await finish_within(consumer.stop(), 1, f"{self.name} consumer stop")
            raise
        self._consumer = consumer

    async def _stop_consumer(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await finish_within(consumer.stop(), 3, f"{self.name} consumer stop")

    async def close(self) -> None:
        await self._stop_consumer()

    # -- one event ------------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> str:
        """Handle one delivery with retries; returns processed | duplicate | ignored | dead_lettered."""
        try:
            envelope = EventEnvelope.from_bytes(delivery.raw)
        except ValidationError as exc:
            await self._dead_letter(delivery, None, f"unreadable envelope: {exc}", attempts=0)
            return "dead_lettered"
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return "ignored"
        attempts = self._settings.consumer_max_retries
        error = ""
        for attempt in range(attempts):
            try:
                outcome = await self.handle_once(envelope, handler, delivery)
                EVENTS_CONSUMED.labels(self._settings.service_name, envelope.type, outcome).inc()
                return outcome
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "handler failed",
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                    attempt=attempt + 1,
                    error=error,
                )
                if attempt + 1 < attempts:
                    await asyncio.sleep(backoff_delay(attempt, self._settings.consumer_retry_base_s, cap=2.0))
        await self._dead_letter(delivery, envelope, error, attempts=attempts)
        EVENTS_CONSUMED.labels(self._settings.service_name, envelope.type, "dead_lettered").inc()
        return "dead_lettered"

    async def handle_once(self, envelope: EventEnvelope, handler: Handler, delivery: Delivery) -> str:
        inbox = self._runtime.tables.inbox
        payload = self._runtime.registry.parse(envelope)
        correlation_token = correlation_id.set(envelope.correlation_id)
        causation_token = causation_id.set(str(envelope.id))
        try:
            async with self._runtime.unit_of_work(self._runtime.consumer_sessions) as uow:
                claimed = await uow.session.scalar(
                    pg_insert(inbox)
                    .values(
                        consumer=self.name,
                        event_id=envelope.id,
                        event_type=envelope.type,
                        topic=delivery.topic,
                        partition=delivery.partition,
                        offset=delivery.offset,
                    )
                    .on_conflict_do_nothing()
                    .returning(inbox.c.event_id)
                )
                if claimed is None:
                    return "duplicate"
                await handler(uow, ReceivedEvent(envelope, payload))
                await uow.commit()
                return "processed"
        finally:
            correlation_id.reset(correlation_token)
            causation_id.reset(causation_token)

    async def _dead_letter(self, delivery: Delivery, envelope: EventEnvelope | None, error: str, attempts: int) -> None:
        letters = self._runtime.tables.dead_letters
        event_id = (
            envelope.id
            if envelope
            else uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery.topic}/{delivery.partition}/{delivery.offset}")
        )
        try:
            original: dict[str, Any] = json.loads(delivery.raw)
            if not isinstance(original, dict):
                original = {"raw": delivery.raw.decode(errors="replace")}
        except ValueError:
            original = {"raw": delivery.raw.decode(errors="replace")}
        async with self._runtime.unit_of_work() as uow:
            already = await uow.session.scalar(
                select(letters.c.id).where(
                    letters.c.consumer == self.name,
                    letters.c.event_id == event_id,
                    letters.c.replayed_at.is_(None),
                )
            )
            if already is None:
                await uow.session.execute(
                    letters.insert().values(
                        consumer=self.name,
                        event_id=event_id,
                        event_type=envelope.type if envelope else None,
                        topic=delivery.topic,
                        partition=delivery.partition,
                        offset=delivery.offset,
                        raw_value=delivery.raw.decode(errors="replace"),
                        error=error[:4000],
                        attempts=attempts,
                    )
                )
                row = outbox_row_for_dead_letter(original, delivery.topic, event_id, error, self.name)
                await uow.session.execute(pg_insert(uow.tables.outbox).values(**row).on_conflict_do_nothing())
            await uow.session.commit()
        DEAD_LETTERS.labels(self._settings.service_name).inc()
        log.error("event dead-lettered", event_id=str(event_id), topic=delivery.topic, error=error)

    async def replay_dead_letter(self, letter_id: int) -> str:
        """Handle a dead letter again once (after a fix); returns processed | duplicate."""
        letters = self._runtime.tables.dead_letters
        async with self._runtime.sessions() as session:
            row = (await session.execute(select(letters).where(letters.c.id == letter_id))).one_or_none()
        if row is None:
            raise LookupError(letter_id)
        if row.replayed_at is not None:
            raise DeadLetterReplayError(f"dead letter {letter_id} was already replayed at {row.replayed_at}")
        delivery = Delivery(row.topic, row.partition, row.offset, row.raw_value.encode())
        try:
            envelope = EventEnvelope.from_bytes(delivery.raw)
            handler = self._handlers[envelope.type]
            outcome = await self.handle_once(envelope, handler, delivery)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await self._mark_letter(letter_id, replay_error=error[:4000])
            raise DeadLetterReplayError(error) from exc
        await self._mark_letter(letter_id, replayed_at=func.now(), replay_error=None)
        return outcome

    async def _mark_letter(self, letter_id: int, **values: Any) -> None:
        letters = self._runtime.tables.dead_letters
        async with self._runtime.sessions() as session, session.begin():
            await session.execute(update(letters).where(letters.c.id == letter_id).values(**values))


def outbox_row_for_dead_letter(
    original: dict[str, Any], topic: str, event_id: uuid.UUID, error: str, consumer: str
) -> dict[str, Any]:
    """The dead-letter copy goes out through the outbox too, so it is not lost if the broker is down."""
    dlq_id = uuid.uuid5(event_id, f"dlq:{consumer}")
    return {
        "event_id": dlq_id,
        "event_type": str(original.get("type", "unreadable")),
        "topic": dead_letter_topic(topic),
        "message_key": str(original.get("subject", event_id)),
        "envelope": original,
        "headers": {"error": error[:500], "consumer": consumer, "original_event_id": str(event_id)},
    }
