"""Unit of work: one transaction holding a state change, the events it causes and its audit records.

API routes and event handlers both work through it, so "state change + its events in one
transaction" is the only way to write. After commit the outbox relay is woken to publish at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.correlation import causation_id, current_or_new
from casework.db import PlatformTables
from casework.events.envelope import EventEnvelope
from casework.events.registry import EventRegistry
from casework.outbox import outbox_row
from casework.patient_data import assert_no_nhs_number
from casework.settings import ServiceSettings

if TYPE_CHECKING:
    from casework.auth import Principal


class UnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        registry: EventRegistry,
        source: str,
        on_commit: Callable[[], None] | None = None,
        settings: ServiceSettings | None = None,
    ) -> None:
        self._sessions = sessions
        self.tables = tables
        self._registry = registry
        self._source = source
        self._on_commit = on_commit
        self.settings = settings  # the service's own settings, for handlers that need configuration
        self._rows: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self.emitted: list[EventEnvelope] = []

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        await self.session.begin()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    def emit(self, event_type: str, subject: str, payload: BaseModel | dict[str, Any]) -> EventEnvelope:
        """Queue an event for the outbox; it is written only if this unit of work commits."""
        spec = self._registry.get(event_type)
        raw = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        data = spec.payload.model_validate(raw).model_dump(mode="json")
        assert_no_nhs_number(event_type, data)
        envelope = EventEnvelope(
            type=event_type,
            source=self._source,
            subject=subject,
            dataschema=spec.dataschema,
            version=spec.version,
            correlation_id=current_or_new(),
            causation_id=causation_id.get(),
            data=data,
        )
        self._rows.append(outbox_row(envelope))
        self.emitted.append(envelope)
        return envelope

    def audit(
        self,
        actor: Principal | str,
        action: str,
        entity_type: str,
        entity_id: object,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record who read or changed which record, when and why (append-only table)."""
        sub, org = (actor, None) if isinstance(actor, str) else (actor.sub, actor.org)
        self._audit.append(
            {
                "actor": sub,
                "actor_org": org,
                "action": action,
                "entity_type": entity_type,
                "entity_id": str(entity_id),
                "reason": reason,
                "correlation_id": current_or_new(),
                "detail": detail or {},
            }
        )

    async def flush_messages(self) -> None:
        if self._rows:
            await self.session.execute(insert(self.tables.outbox), self._rows)
            self._rows = []
        if self._audit:
            await self.session.execute(insert(self.tables.audit), self._audit)
            self._audit = []

    async def commit(self) -> None:
        await self.flush_messages()
        await self.session.commit()
        if self.emitted and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        self._rows, self._audit, self.emitted = [], [], []
        await self.session.rollback()
