"""What a running service holds: settings, database, outbox relay, consumers, background tasks.

Built from a `ServiceDefinition` by the app factory; routes reach it through dependencies
(`casework.deps`), handlers through the unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic

from fastapi import APIRouter
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casework.auth import TokenVerifier
from casework.broker_health import BrokerHealth
from casework.db import PlatformTables, create_engine, session_factory
from casework.events.registry import EventRegistry, registry
from casework.inbox import EventConsumer, Handler
from casework.logs import get_logger
from casework.outbox import OutboxRelay
from casework.periodic import every
from casework.retention import retention_round
from casework.shutdown import cancel_within
from casework.tracing import instrument_engines
from casework.uow import S, UnitOfWork

if TYPE_CHECKING:
    from fastapi import FastAPI

log = get_logger(__name__)

BackgroundTask = Callable[["ServiceRuntime[Any]"], Awaitable[None]]


@dataclass
class ServiceDefinition(Generic[S]):
    """Everything the platform needs to know to run, migrate and document one service."""

    name: str
    title: str
    version: str
    settings_class: type[S]
    metadata: MetaData
    tables: PlatformTables
    migrations: Path  # folder holding Alembic revision files
    routers: list[APIRouter] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)
    background: list[BackgroundTask] = field(default_factory=list)
    configure_app: Callable[[FastAPI], None] | None = None
    # gauges a service reads from its own tables, brought up to date at each /metrics scrape
    metrics: list[BackgroundTask] = field(default_factory=list)

    @property
    def publishes(self) -> list[str]:
        return [t.name for t in registry if t.name.split(".", 1)[0] == self.name]

    @property
    def topics(self) -> list[str]:
        return sorted({registry.get(t).topic for t in self.publishes})

    def load_settings(self, **overrides: object) -> S:
        return self.settings_class(**overrides)  # type: ignore[arg-type]  # fields by name


class ServiceRuntime(Generic[S]):
    """Typed by the service's settings (`ServiceRuntime[CdfSettings]`), so `runtime.settings` has its fields."""

    def __init__(self, definition: ServiceDefinition[S], settings: S) -> None:
        self.definition = definition
        self.settings: S = settings
        self.registry: EventRegistry = registry
        self.tokens = TokenVerifier(settings)
        self.broker_health = BrokerHealth(settings)
        self.tables = definition.tables
        self.engine: AsyncEngine = create_engine(
            settings.database_url,
            settings.database_pool_size,
            settings.database_ping_after_idle_s,
            settings.database_idle_in_transaction_timeout_s,
        )
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        # The consumer's own small pool, so handling events never waits behind API requests for a
        # connection; like the API's, it pings a connection only after it has been idle a while.
        self.consumer_engine: AsyncEngine = create_engine(
            settings.database_url,
            2,
            settings.database_ping_after_idle_s,
            settings.database_idle_in_transaction_timeout_s,
        )
        self.consumer_sessions: async_sessionmaker[AsyncSession] = session_factory(self.consumer_engine)
        instrument_engines(self.engine, self.consumer_engine)
        self.relay = OutboxRelay(self.sessions, self.tables, settings, definition.topics)
        self.consumer = EventConsumer(self, definition.handlers) if definition.handlers else None
        self._tasks: list[asyncio.Task[None]] = []
        self.extras: dict[str, object] = {}  # service-specific long-lived objects (SMTP client, ...)
        self._signals: dict[str, asyncio.Event] = {}

    def wake_signal(self, worker: str) -> asyncio.Event:
        """The event a background worker waits on between polls; a unit of work sets it after a commit
        that gave the worker something to do (`UnitOfWork.wake_after_commit`)."""
        return self._signals.setdefault(worker, asyncio.Event())

    def unit_of_work(self, sessions: async_sessionmaker[AsyncSession] | None = None) -> UnitOfWork[S]:
        return UnitOfWork(
            sessions or self.sessions,
            self.tables,
            self.registry,
            self.settings.service_name,
            self.relay.wake,
            self.settings,
            self._signals,
        )

    def start_workers(self) -> None:
        self._spawn("outbox-relay", self.relay.run())
        if self.consumer is not None:
            self._spawn("consumer", self.consumer.run())
        if self.settings.retention_interval_s > 0:
            self._spawn("retention", every(self.settings.retention_interval_s, retention_round, "retention")(self))
        for task in self.definition.background:
            self._spawn(getattr(task, "__name__", "background"), task(self))

    def _spawn(self, name: str, coro: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task crashed", task=name)
                raise

        self._tasks.append(asyncio.create_task(guarded(), name=f"{self.settings.service_name}:{name}"))

    async def stop(self) -> None:
        await cancel_within(self._tasks, 10)
        await self.broker_health.close()
        self._tasks.clear()
        await self.relay.close()
        if self.consumer is not None:
            await self.consumer.close()
        await self.consumer_engine.dispose()
        await self.engine.dispose()
