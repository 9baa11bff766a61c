"""A made-up service for reliability tests: its only effect is one row per handled event.

The effect is deliberately not idempotent by itself (a plain insert), so any event handled twice
shows up as two rows; only the platform's inbox can keep the count right.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

from casework.db import PlatformTables, service_metadata
from casework.inbox import ReceivedEvent
from casework.runtime import ServiceDefinition
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork

metadata = service_metadata()
tables = PlatformTables.on(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("period", String(20), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("at", DateTime(timezone=True), server_default=func.now()),
)

POISON_PERIOD = "poison"
broken = {"poison": True}  # the "bug" a test fixes before replaying


async def record_effect(uow: UnitOfWork, event: ReceivedEvent) -> None:
    period = event.envelope.data["period"]
    if period == POISON_PERIOD and broken["poison"]:
        raise RuntimeError("handler bug: cannot process poison period")
    await uow.session.execute(effects.insert().values(event_id=event.envelope.id, period=period, pid=os.getpid()))


def effects_definition(name: str = "effects") -> ServiceDefinition:
    return ServiceDefinition(
        name=name,
        title="Effects (test)",
        version="0",
        settings_class=ServiceSettings,
        metadata=metadata,
        tables=tables,
        migrations=Path("/nonexistent"),
        handlers={"cdf.sact_submission.processed": record_effect},
    )
