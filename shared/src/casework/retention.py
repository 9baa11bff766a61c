"""Retention: published outbox rows, handled inbox ids and idempotency records are deleted once past
their configured age (`OUTBOX_RETENTION_S`, `INBOX_RETENTION_S`, `IDEMPOTENCY_RETENTION_S`).

A round deletes in batches of `BATCH` rows, each batch its own short transaction that skips rows another
replica is deleting (`FOR UPDATE SKIP LOCKED`), so every replica may run it at once and none holds locks
for long. Unpublished outbox rows are never deleted, whatever their age. The inbox keeps an id at least
as long as the broker keeps the event (the settings refuse less), so a redelivered event is still
recognised as handled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, delete, literal_column, select

from casework.logs import get_logger
from casework.metrics import RETENTION_DELETED
from casework.settings import ServiceSettings

if TYPE_CHECKING:
    from casework.runtime import ServiceRuntime

log = get_logger(__name__)
BATCH = 5000


async def retention_round(runtime: ServiceRuntime[ServiceSettings]) -> dict[str, int]:
    """One round over the three tables; how many rows each lost."""
    settings: Any = runtime.settings
    tables = runtime.tables
    now = datetime.now(UTC)

    def before(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    outbox_cutoff = before(settings.outbox_retention_s)
    plans: list[tuple[str, Table, ColumnElement[bool]]] = [
        (
            "outbox",
            tables.outbox,
            # created_at first: its index finds the old rows; published_at: kept that long after publishing
            (tables.outbox.c.created_at < outbox_cutoff) & (tables.outbox.c.published_at < outbox_cutoff),
        ),
        ("inbox", tables.inbox, tables.inbox.c.processed_at < before(settings.inbox_retention_s)),
        ("idempotency", tables.idempotency, tables.idempotency.c.created_at < before(settings.idempotency_retention_s)),
    ]
    deleted = {name: await _delete_all(runtime, table, condition) for name, table, condition in plans}
    for name, count in deleted.items():
        RETENTION_DELETED.labels(settings.service_name, name).inc(count)
    if any(deleted.values()):
        log.info("retention deleted rows", **deleted)
    return deleted


async def _delete_all(runtime: ServiceRuntime[ServiceSettings], table: Table, condition: ColumnElement[bool]) -> int:
    ctid: ColumnElement[Any] = literal_column("ctid")
    batch = select(ctid).select_from(table).where(condition).limit(BATCH).with_for_update(skip_locked=True)
    statement = delete(table).where(ctid.in_(batch.scalar_subquery()))
    total = 0
    while True:
        async with runtime.sessions() as session, session.begin():
            count = (await session.execute(statement)).rowcount or 0  # type: ignore[attr-defined]  # a DELETE: a CursorResult
        total += count
        if count < BATCH:
            return total
