"""Dead letters: an event whose handler kept failing (`consumer_max_retries` attempts) or whose envelope
could not be read is kept in `dead_letters` (the admin list, and a replay once it can be handled) and
published to `<topic>.dlq` through the outbox, so the copy is not lost while the broker is down. A
dead letter is replayed at most once; the replay's outcome or error is recorded on it.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.events.envelope import EventEnvelope, dead_letter_topic
from casework.logs import get_logger
from casework.metrics import DEAD_LETTERS

if TYPE_CHECKING:
    from casework.inbox import Delivery

log = get_logger(__name__)


class DeadLetterReplayError(Exception):
    pass


async def record_dead_letter(
    runtime: Any, delivery: Delivery, envelope: EventEnvelope | None, *, consumer: str, error: str, attempts: int
) -> None:
    """Keep the event in `dead_letters` (once while not replayed) and send its copy to `<topic>.dlq`."""
    letters = runtime.tables.dead_letters
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
    async with runtime.unit_of_work() as uow:
        already = await uow.session.scalar(
            select(letters.c.id).where(
                letters.c.consumer == consumer,
                letters.c.event_id == event_id,
                letters.c.replayed_at.is_(None),
            )
        )
        if already is None:
            await uow.session.execute(
                letters.insert().values(
                    consumer=consumer,
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
            row = outbox_row_for_dead_letter(original, delivery.topic, event_id, error, consumer)
            await uow.session.execute(pg_insert(uow.tables.outbox).values(**row).on_conflict_do_nothing())
        await uow.session.commit()
    DEAD_LETTERS.labels(runtime.settings.service_name).inc()
    log.error("event dead-lettered", event_id=str(event_id), topic=delivery.topic, error=error)


async def letter_to_replay(runtime: Any, letter_id: int) -> Row[Any]:
    """The dead letter's row, to handle again; LookupError if there is none, DeadLetterReplayError if it
    was replayed already."""
    letters = runtime.tables.dead_letters
    async with runtime.sessions() as session:
        row: Row[Any] | None = (await session.execute(select(letters).where(letters.c.id == letter_id))).one_or_none()
    if row is None:
        raise LookupError(letter_id)
    if row.replayed_at is not None:
        raise DeadLetterReplayError(f"dead letter {letter_id} was already replayed at {row.replayed_at}")
    return row


async def mark_letter(runtime: Any, letter_id: int, **values: Any) -> None:
    """Record a replay (its time, or the error it ended with) on the dead letter."""
    letters = runtime.tables.dead_letters
    async with runtime.sessions() as session, session.begin():
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
