"""Unit of work: one transaction holding a state change, the events it causes and its audit records.

API routes and event handlers both work through it, so "state change + its events in one
transaction" is the only way to write. After commit the outbox relay is woken to publish at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from casework.correlation import causation_id, current_or_new
from casework.db import PlatformTables
from casework.events.envelope import EventEnvelope
from casework.events.registry import EventRegistry
from casework.outbox import outbox_row
from casework.patient_data import assert_no_nhs_number
from casework.prepared import combined, row_insert, row_params
from casework.settings import ServiceSettings
from casework.tracing import attached, trace_headers

if TYPE_CHECKING:
    from casework.auth import Principal


# The service's own settings class. Covariant: code for any service takes a `UnitOfWork[ServiceSettings]`
# and is given a `UnitOfWork[CdfSettings]` (the settings are read, never replaced).
S = TypeVar("S", bound=ServiceSettings, covariant=True)


@dataclass(frozen=True)
class StagedWrite:
    statement: UpdateBase
    params: dict[str, Any]
    check: Callable[[int], None] | None = None


class UnitOfWork(Generic[S]):
    """Typed by the service's settings (`UnitOfWork[CdfSettings]`), so `uow.settings` has its fields."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        registry: EventRegistry,
        source: str,
        on_commit: Callable[[], None] | None,
        settings: S,
        signals: Mapping[str, asyncio.Event] | None = None,
    ) -> None:
        self._sessions = sessions
        self.tables = tables
        self._registry = registry
        self._source = source
        self._on_commit = on_commit
        self.settings: S = settings  # the service's own settings, for handlers that need configuration
        self._signals = signals or {}
        self._wake: set[str] = set()
        self._before_commit: dict[tuple[str, ...], Callable[[], Awaitable[None]]] = {}
        self._rows: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self._staged: list[StagedWrite] = []
        self._bulk: list[tuple[Table, list[dict[str, Any]]]] = []
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
        # the trace this change belongs to goes with the event (the relay sends it as Kafka headers)
        self._rows.append(outbox_row(envelope, headers=trace_headers()))
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

    def stage(
        self, statement: UpdateBase, params: dict[str, Any] | None = None, check: Callable[[int], None] | None = None
    ) -> None:
        """Write `statement` (an INSERT, UPDATE or DELETE) with `params` at the next flush or commit,
        in one statement with the other staged writes, the events and the audit rows: a request's
        writes cost one round trip.

        Staged writes run as data-modifying CTEs of one statement: they all see the snapshot from
        before it and must not depend on each other's rows. `check`, if given, receives how many rows
        the statement's RETURNING gave and may raise (the transaction is then rolled back). Pass a
        statement built once with named bind parameters (`casework.prepared`), distinct from the
        other staged writes' names."""
        self._staged.append(StagedWrite(statement, params or {}, check))

    def stage_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` at the next flush or commit: one row joins the combined statement, more go
        by executemany just before it."""
        if len(rows) == 1:
            self.stage(row_insert(table, tuple(rows[0])), row_params(table, rows[0]))
        elif rows:
            self._bulk.append((table, rows))

    def wake_after_commit(self, worker: str) -> None:
        """Wake the named background worker of this process (`ServiceRuntime.wake_signal`) once this unit
        of work commits: it has work now, not at its next poll. Nothing happens on rollback."""
        self._wake.add(worker)

    def before_commit(self, key: tuple[str, ...], step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` once, just before this unit of work commits, however many times it is asked for
        under `key` in this unit of work (the first request's step is kept): work that depends on
        everything the transaction changed, such as re-evaluating a provider's budget after a batch of
        events changed several of its forecasts. Steps run in key order, so two units of work whose
        steps take the same locks take them in the same order."""
        if key not in self._before_commit:
            # the step runs at commit, outside the handler or route that asked for it: in its trace
            self._before_commit[key] = _in_trace(step, trace_headers())

    async def flush_messages(self) -> None:
        self.stage_rows(self.tables.outbox, self._rows)
        self.stage_rows(self.tables.audit, self._audit)
        writes, bulk = self._staged, self._bulk
        self._rows, self._audit, self._staged, self._bulk = [], [], [], []
        for table, rows in bulk:
            await self.session.execute(insert(table), rows)
        await _write_together(self.session, writes)

    async def commit(self) -> None:
        while self._before_commit:  # a step may ask for another
            await self._before_commit.pop(min(self._before_commit))()
        await self.flush_messages()
        await self.session.commit()
        if self.emitted and self._on_commit is not None:
            self._on_commit()
        for worker in self._wake:
            if (signal := self._signals.get(worker)) is not None:
                signal.set()
        self._wake.clear()

    async def rollback(self) -> None:
        self._rows, self._audit, self._staged, self._bulk, self.emitted = [], [], [], [], []
        self._wake.clear()
        self._before_commit.clear()
        await self.session.rollback()


def _in_trace(step: Callable[[], Awaitable[None]], trace: dict[str, str]) -> Callable[[], Awaitable[None]]:
    if not trace:
        return step

    async def traced() -> None:
        with attached(trace):
            await step()

    return traced


async def _write_together(session: AsyncSession, writes: list[StagedWrite]) -> None:
    """The staged writes as one statement (`casework.prepared.combined`), their checks on its counts."""
    if not writes:
        return
    if len({id(w.statement) for w in writes}) < len(writes):  # one statement twice: its names would clash
        for w in writes:
            await _write_together(session, [w])
        return
    if len(writes) == 1 and writes[0].check is None:
        await session.execute(writes[0].statement, writes[0].params)
        return
    query = combined([w.statement for w in writes], [w.check is not None for w in writes])
    params = {name: value for w in writes for name, value in w.params.items()}
    row = (await session.execute(query, params)).one()
    for check, count in zip((w.check for w in writes if w.check is not None), row, strict=False):
        check(count)
