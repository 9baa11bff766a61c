"""Claiming inbox rows: one INSERT for any number of events records each event id in `inbox_events`
for the consumer, skips the ids already there and returns those claimed now. The handler of an event
runs only when its id was claimed in that transaction; an id already there is a duplicate (handled
before, or earlier in the same batch)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import func
from sqlalchemy.sql.dml import Insert

from casework.events.envelope import EventEnvelope

if TYPE_CHECKING:
    from casework.inbox import Delivery


@functools.cache
def claim_statement(inbox: Table) -> Insert:
    """INSERT of inbox rows for any number of events (one array parameter per column), skipping ids
    already there, RETURNING the ids claimed now: one round trip, built once per table."""
    rows = (
        func.unnest(
            bindparam("event_ids", type_=ARRAY(UUID(as_uuid=True))),
            bindparam("event_types", type_=ARRAY(String)),
            bindparam("topics", type_=ARRAY(String)),
            bindparam("partitions", type_=ARRAY(Integer)),
            bindparam("offsets", type_=ARRAY(BigInteger)),
        )
        .table_valued("event_id", "event_type", "topic", "partition", "offset")
        .render_derived()
    )
    source = select(
        bindparam("consumer", type_=String),
        rows.c.event_id,
        rows.c.event_type,
        rows.c.topic,
        rows.c.partition,
        rows.c.offset,
    )
    columns = ["consumer", "event_id", "event_type", "topic", "partition", "offset"]
    return pg_insert(inbox).from_select(columns, source).on_conflict_do_nothing().returning(inbox.c.event_id)


def claim_params(consumer: str, events: Sequence[tuple[EventEnvelope, Delivery]]) -> dict[str, Any]:
    return {
        "consumer": consumer,
        "event_ids": [e.id for e, _ in events],
        "event_types": [e.type for e, _ in events],
        "topics": [d.topic for _, d in events],
        "partitions": [d.partition for _, d in events],
        "offsets": [d.offset for _, d in events],
    }
