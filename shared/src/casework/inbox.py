"""Idempotent inbox: each consumed event has its effect exactly once.

The handler's effect and the row recording the event id in `inbox_events` commit in one transaction
(the claim: casework.inbox_claims), so a redelivered event (after a crash, a rebalance or an outbox
replay) finds its id and does nothing. A failing handler is retried with backoff; after
`consumer_max_retries` the event is dead-lettered (casework.dead_letters): kept in `dead_letters`
(admin list and replay) and published to `<topic>.dlq` through the outbox.

Records fetched together are handled together: up to `batch_size` wanted events share one
transaction that first claims all their inbox rows in one statement (an id already there is a
duplicate and its handler does not run), then runs each handler in turn. If a handler fails, that
transaction rolls back; the events before the failing one are handled together again, the failing
one alone with its retries (the failed try counts as its first attempt), then the rest. Any other
failure (the claim, the commit, a lost connection) sends each event of the batch down the single
path. Events no handler wants cost a parse of the envelope and nothing else: no transaction, no
inbox row (they have no effect to guard).

Offsets are committed only for records already handled, so a killed consumer loses nothing; they
are committed at most every `commit_interval_s` (and when partitions are revoked, after a dead
letter and at close), not after every fetch: a record handled but not yet committed comes again
after a crash and the inbox drops it. Rebalances and a broker that lost its log move the partitions
under the consumer: casework.partition_moves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from sqlalchemy.sql import func

from casework import broker_loss
from casework.backoff import backoff_delay
from casework.consumer_lag import ConsumerLag
from casework.correlation import causation_id, correlation_id
from casework.dead_letters import DeadLetterReplayError, letter_to_replay, mark_letter, record_dead_letter
from casework.events.envelope import EventEnvelope
from casework.inbox_claims import claim_params, claim_statement
from casework.kafka_client import client_kwargs
from casework.logs import get_logger
from casework.metrics import EVENTS_CONSUMED
from casework.partition_moves import CommitOnRevoke, cut_at_rewinds
from casework.settings import ServiceSettings
from casework.shutdown import finish_within
from casework.tracing import continued, tracing
from casework.uow import UnitOfWork
from casework.worker import Backoff, Worker

log = get_logger(__name__)


P = TypeVar("P", bound=BaseModel, covariant=True)  # the event type's payload model (the registry's)


@dataclass(frozen=True)
class ReceivedEvent(Generic[P]):
    """An event as a handler gets it: typed by its payload model (`ReceivedEvent[ApplicationApproved]`),
    which the registry parsed it into; tests/platform/test_handlers.py checks each handler's annotation
    names the model its event type is registered with."""

    envelope: EventEnvelope
    payload: P


# Any: each service's handlers take a unit of work of its own settings (`UnitOfWork[ContractSettings]`)
# and an event of the payload they handle (`ReceivedEvent[TreatmentStopped]`)
Handler = Callable[[UnitOfWork[Any], ReceivedEvent[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """Where an event came from: a Kafka record, or a dead letter being replayed."""

    topic: str
    partition: int | None
    offset: int | None
    raw: bytes
    headers: Sequence[tuple[str, bytes]] = ()  # the Kafka record's: the trace context travels here


@dataclass(frozen=True)
class _Wanted:
    """A delivery whose envelope was read and that a handler wants."""

    delivery: Delivery
    envelope: EventEnvelope
    handler: Handler


class _HandlerFailed(Exception):
    def __init__(self, index: int, error: str) -> None:
        super().__init__(error)
        self.index, self.error = index, error


class EventConsumer:
    batch_size = 100  # wanted events handled in one transaction, at most
    commit_interval_s = 1.0  # offsets of handled records are committed at most this often
    # aiokafka retries a commit that meets UnknownTopicOrPartition (a restarted broker that lost its topics)
    # for ever: the fault probe found contract-service stuck there, handling nothing, 498 of 650 effects
    # late. A commit that has not finished in this long restarts the consumer instead.
    commit_timeout_s = 10.0

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
        self._handled: dict[TopicPartition, int] = {}  # next offset to read, per partition, once handled
        self._committed: dict[TopicPartition, int] = {}
        self._last_commit = time.monotonic()
        self._assignments = 0  # counts rebalances: a batch fetched before one does not move offsets
        self._rewinds = broker_loss.RewindsActedOn()
        self._lag = ConsumerLag(self._settings.service_name, self.name)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Fetch and handle batch after batch (a fetch waits up to a second for records, so the loop never
        waits a poll of its own). When the broker goes or a rebalance breaks a batch, the consumer is
        stopped and started again after a backoff; uncommitted records come again."""
        worker = Worker(
            f"consumer:{self.name}",
            self._handle_fetched,
            service=self._settings.service_name,
            poll_s=0.0,  # never waited: every round asks for the next
            backoff=Backoff(base_s=0.2, cap_s=5.0),
            on_failure=lambda _exc: self._stop_consumer(),
            failure_message="consumer loop error; restarting",
        )
        await worker.run()

    async def _handle_fetched(self) -> bool:
        """One fetch and its batch handled; True: the next fetch comes at once."""
        consumer = await self._ensure_started()
        batch = await consumer.getmany(timeout_ms=1000, max_records=500)
        batch, rewound = cut_at_rewinds(batch, self._rewinds)
        assignments = self._assignments
        deliveries = [
            Delivery(record.topic, record.partition, record.offset, record.value, record.headers)
            for records in batch.values()
            for record in records
        ]
        outcomes = await self.deliver_many(deliveries) if deliveries else []
        if assignments == self._assignments:
            for tp, records in batch.items():
                if records and tp not in rewound:
                    self._handled[tp] = records[-1].offset + 1
        if self._consumer is not None:  # not stopped by a revoke while the batch was handled
            self._lag.update(self._consumer, self._handled, rewound)
        for tp in rewound:
            await consumer.seek_to_beginning(tp)
        if "dead_lettered" in outcomes or time.monotonic() - self._last_commit >= self.commit_interval_s:
            await self.commit_handled()
        return True

    async def commit_handled(self, only: Collection[TopicPartition] | None = None) -> None:
        """Commit the offsets of handled records not committed yet (of the partitions `only`, if given)."""
        self._last_commit = time.monotonic()
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        offsets = {
            tp: offset
            for tp, offset in self._handled.items()
            if tp in assigned and (only is None or tp in only) and self._committed.get(tp) != offset
        }
        if offsets:
            try:
                await asyncio.wait_for(consumer.commit(offsets), self.commit_timeout_s)
            except TimeoutError as exc:
                raise KafkaError(f"offset commit did not finish in {self.commit_timeout_s} s") from exc
            self._committed.update(offsets)

    def reset_offsets(self) -> None:
        """After a rebalance: positions restart from the group's committed offsets."""
        self._assignments += 1
        self._handled.clear()
        self._committed.clear()

    async def _ensure_started(self) -> AIOKafkaConsumer:
        if self._consumer is not None:
            return self._consumer
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._settings),
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self._settings.kafka_rebalance_timeout_ms,
        )
        consumer.subscribe(self.topics, listener=CommitOnRevoke(self))
        self.reset_offsets()
        try:
            await consumer.start()
        except BaseException:
            # Joining a group can take a session timeout; a shutdown must not wait for it.
            await finish_within(consumer.stop(), 1, f"{self.name} consumer stop")
            raise
        self._consumer = consumer
        return consumer

    async def _stop_consumer(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await finish_within(consumer.stop(), 3, f"{self.name} consumer stop")

    async def close(self) -> None:
        # A commit that fails or hangs only means the next consumer re-reads those records.
        await finish_within(self.commit_handled(), 3, f"{self.name} offset commit")
        await self._stop_consumer()
        self._lag.clear()

    # -- events -----------------------------------------------------------------------------------

    async def deliver_many(self, deliveries: Sequence[Delivery]) -> list[str]:
        """Handle records fetched together (in partition order); one outcome per delivery:
        processed | duplicate | ignored | dead_lettered."""
        outcomes = ["ignored"] * len(deliveries)
        wanted: list[tuple[int, _Wanted]] = []
        for index, delivery in enumerate(deliveries):
            try:
                envelope = EventEnvelope.from_bytes(delivery.raw)
            except ValidationError as exc:
                await self._dead_letter(delivery, None, f"unreadable envelope: {exc}", attempts=0)
                outcomes[index] = "dead_lettered"
                continue
            handler = self._handlers.get(envelope.type)
            if handler is not None:
                wanted.append((index, _Wanted(delivery, envelope, handler)))
        for start in range(0, len(wanted), self.batch_size):
            chunk = wanted[start : start + self.batch_size]
            for (index, _), outcome in zip(chunk, await self._handle_together([w for _, w in chunk]), strict=True):
                outcomes[index] = outcome
        return outcomes

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
        return await self._deliver_alone(_Wanted(delivery, envelope, handler))

    async def _handle_together(self, events: Sequence[_Wanted]) -> list[str]:
        if not events:
            return []
        if len(events) == 1:
            return [await self._deliver_alone(events[0])]
        try:
            outcomes = await self._in_one_transaction(events)
        except _HandlerFailed as failed:
            event = events[failed.index]
            self._log_failure(event.envelope, 1, failed.error)
            before = await self._handle_together(events[: failed.index])
            alone = await self._deliver_alone(event, failed_attempts=1, error=failed.error)
            return [*before, alone, *await self._handle_together(events[failed.index + 1 :])]
        except Exception as exc:  # nothing to blame on one event: each goes the single way
            log.warning("batch transaction failed; handling its events one by one", error=repr(exc))
            return [await self._deliver_alone(event) for event in events]
        for event, outcome in zip(events, outcomes, strict=True):
            EVENTS_CONSUMED.labels(self._settings.service_name, event.envelope.type, outcome).inc()
        return outcomes

    async def _in_one_transaction(self, events: Sequence[_Wanted]) -> list[str]:
        """Claim every event's inbox row in one statement, run the handlers of those claimed now, commit
        once. A handler's exception becomes _HandlerFailed naming its event (nothing is committed)."""
        async with self._runtime.unit_of_work(self._runtime.consumer_sessions) as uow:
            connection = await uow.session.connection()
            claimed = set(
                await connection.scalars(
                    claim_statement(self._runtime.tables.inbox),
                    claim_params(self.name, [(e.envelope, e.delivery) for e in events]),
                )
            )
            outcomes = []
            for index, event in enumerate(events):
                if event.envelope.id not in claimed:  # handled before, or earlier in this batch
                    outcomes.append("duplicate")
                    continue
                claimed.discard(event.envelope.id)
                try:
                    await self._run_handler(uow, event)
                    await uow.flush_messages()  # the next handler sees this one's staged writes
                except Exception as exc:
                    raise _HandlerFailed(index, f"{type(exc).__name__}: {exc}") from exc
                outcomes.append("processed")
            await uow.commit()
        return outcomes

    async def _run_handler(self, uow: UnitOfWork[ServiceSettings], event: _Wanted) -> None:
        payload = self._runtime.registry.parse(event.envelope)
        correlation_token = correlation_id.set(event.envelope.correlation_id)
        causation_token = causation_id.set(str(event.envelope.id))
        try:
            with continued(
                f"{event.envelope.type} process",
                event.delivery.headers,
                SpanKind.CONSUMER,
                self._span_attributes(event) if tracing() else None,  # built only for a span
            ):
                await event.handler(uow, ReceivedEvent(event.envelope, payload))
        finally:
            correlation_id.reset(correlation_token)
            causation_id.reset(causation_token)

    def _span_attributes(self, event: _Wanted) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": event.delivery.topic,
            "messaging.consumer.group.name": self.name,
            "messaging.message.id": str(event.envelope.id),
            "casework.event_type": event.envelope.type,
        }
        if event.delivery.partition is not None:
            attributes["messaging.destination.partition.id"] = str(event.delivery.partition)
        if event.delivery.offset is not None:
            attributes["messaging.kafka.offset"] = event.delivery.offset
        return attributes

    async def _deliver_alone(self, event: _Wanted, failed_attempts: int = 0, error: str = "") -> str:
        """One event in its own transaction, retried with backoff, then dead-lettered."""
        envelope = event.envelope
        attempts = self._settings.consumer_max_retries
        for attempt in range(failed_attempts, attempts):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt - 1, self._settings.consumer_retry_base_s, cap=2.0))
            try:
                outcome = await self.handle_once(envelope, event.handler, event.delivery)
                EVENTS_CONSUMED.labels(self._settings.service_name, envelope.type, outcome).inc()
                return outcome
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._log_failure(envelope, attempt + 1, error)
        await self._dead_letter(event.delivery, envelope, error, attempts=attempts)
        EVENTS_CONSUMED.labels(self._settings.service_name, envelope.type, "dead_lettered").inc()
        return "dead_lettered"

    @staticmethod
    def _log_failure(envelope: EventEnvelope, attempt: int, error: str) -> None:
        log.warning("handler failed", event_id=str(envelope.id), event_type=envelope.type, attempt=attempt, error=error)

    async def handle_once(self, envelope: EventEnvelope, handler: Handler, delivery: Delivery) -> str:
        """One attempt in one transaction: claim the inbox row, run the handler, commit."""
        async with self._runtime.unit_of_work(self._runtime.consumer_sessions) as uow:
            connection = await uow.session.connection()
            claimed = await connection.scalar(
                claim_statement(self._runtime.tables.inbox), claim_params(self.name, [(envelope, delivery)])
            )
            if claimed is None:
                return "duplicate"
            await self._run_handler(uow, _Wanted(delivery, envelope, handler))
            await uow.commit()
            return "processed"

    async def _dead_letter(self, delivery: Delivery, envelope: EventEnvelope | None, error: str, attempts: int) -> None:
        await record_dead_letter(self._runtime, delivery, envelope, consumer=self.name, error=error, attempts=attempts)

    async def replay_dead_letter(self, letter_id: int) -> str:
        """Handle a dead letter again once (after a fix); returns processed | duplicate."""
        row = await letter_to_replay(self._runtime, letter_id)
        delivery = Delivery(row.topic, row.partition, row.offset, row.raw_value.encode())
        try:
            envelope = EventEnvelope.from_bytes(delivery.raw)
            handler = self._handlers[envelope.type]
            outcome = await self.handle_once(envelope, handler, delivery)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await mark_letter(self._runtime, letter_id, replay_error=error[:4000])
            raise DeadLetterReplayError(error) from exc
        await mark_letter(self._runtime, letter_id, replayed_at=func.now(), replay_error=None)
        return outcome
