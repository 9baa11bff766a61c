"""Retention deletes published outbox rows, handled inbox ids and idempotency records past their ages,
and nothing else: never an unpublished event, never what is younger than its retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select

from casework.retention import retention_round
from casework.settings import ServiceSettings
from embedded_stack.testing import TestStack

DAY = 86400


def test_the_inbox_must_outlive_the_brokers_retention() -> None:
    with pytest.raises(ValidationError, match="INBOX_RETENTION_S"):
        ServiceSettings(kafka_retention_s=7 * DAY, inbox_retention_s=7 * DAY)
    assert ServiceSettings(kafka_retention_s=7 * DAY, inbox_retention_s=8 * DAY).inbox_retention_s == 8 * DAY


async def test_a_round_deletes_only_what_is_past_its_retention(stack: TestStack) -> None:
    ages = {"outbox_retention_s": 14 * DAY, "inbox_retention_s": 8 * DAY, "idempotency_retention_s": 7 * DAY}
    async with stack.service("contract", database="contract_retention", run_workers=False, **ages) as svc:
        tables = svc.runtime.tables
        now = datetime.now(UTC)

        def ago(days: float) -> datetime:
            return now - timedelta(days=days)

        def event(created: datetime, published: datetime | None) -> dict[str, object]:
            return {
                "event_id": uuid.uuid4(),
                "event_type": "contract.variation.agreed",
                "topic": "contract.events",
                "message_key": "k",
                "envelope": {},
                "created_at": created,
                "published_at": published,
            }

        outbox = [
            event(ago(20), ago(20)),  # published long ago: goes
            event(ago(20), None),  # never published (a broker down for weeks): stays
            event(ago(20), ago(3)),  # created long ago, published lately: stays 14 days from publishing
            event(ago(1), ago(1)),  # recent: stays
        ]
        inbox = [
            {"consumer": "c", "event_id": uuid.uuid4(), "event_type": "t", "topic": "x", "processed_at": ago(9)},
            {"consumer": "c", "event_id": uuid.uuid4(), "event_type": "t", "topic": "x", "processed_at": ago(7.5)},
        ]
        keys = [
            {
                "principal": f"u-{i}",
                "key": "k",
                "method": "POST",
                "path": "/p",
                "request_hash": "0" * 64,
                "status_code": 201,
                "response": {},
                "created_at": created,
            }
            for i, created in enumerate((ago(8), ago(6)))
        ]
        async with svc.runtime.sessions() as session, session.begin():
            await session.execute(insert(tables.outbox), outbox)
            await session.execute(insert(tables.inbox), inbox)
            await session.execute(insert(tables.idempotency), keys)

        deleted = await retention_round(svc.runtime)
        assert deleted == {"outbox": 1, "inbox": 1, "idempotency": 1}
        async with svc.runtime.sessions() as session:
            kept_events = set(
                await session.scalars(
                    select(tables.outbox.c.event_id).where(
                        tables.outbox.c.event_id.in_([e["event_id"] for e in outbox])
                    )
                )
            )
            kept_inbox = set(
                await session.scalars(select(tables.inbox.c.event_id).where(tables.inbox.c.consumer == "c"))
            )
            kept_keys = set(
                await session.scalars(select(tables.idempotency.c.principal).where(tables.idempotency.c.key == "k"))
            )
            unpublished = await session.scalar(
                select(func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
            )
        assert kept_events == {e["event_id"] for e in outbox[1:]}
        assert kept_inbox == {inbox[1]["event_id"]} and kept_keys == {"u-1"} and unpublished >= 1
        assert await retention_round(svc.runtime) == {"outbox": 0, "inbox": 0, "idempotency": 0}
        metrics = (await svc.client.get("/metrics")).text
        assert 'casework_retention_deleted_total{service="contract",table="outbox"} 1.0' in metrics
