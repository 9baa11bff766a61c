"""Pytest fixtures: a real PostgreSQL, a real Tansu broker and the dev mail relay per test session.

Every port is picked free at start and everything lives under the session's temp folder, so
several test runs (or a running `make up`) can share a machine. Services run in-process with
their workers (outbox relay, consumers) on the test's event loop; tests talk HTTP through httpx.
What became of events (a topic read back, a group caught up): embedded_stack.event_checks; free ports:
embedded_stack.ports.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import MetaData

from casework.app import create_app
from casework.auth import mint_token
from casework.db import create_engine
from casework.events import EventEnvelope, registry
from casework.keep_alive import SERVER_KEEP_ALIVE_S
from casework.migrations import Migratable, ensure_database_sync, upgrade
from casework.patient_data import nhs_numbers_in
from casework.runtime import ServiceDefinition, ServiceRuntime
from casework.services import SERVICE_NAMES, load_definition
from casework.settings import ServiceSettings
from embedded_stack.broker import TansuBroker
from embedded_stack.dev_dns import DevDns
from embedded_stack.layout import CONSOLE, RELAY_USER, StackLayout, StackPorts
from embedded_stack.mail_relay import DevMailRelay
from embedded_stack.oidc import API_AUDIENCE, OidcProvider
from embedded_stack.ports import free_port
from embedded_stack.postgres import PostgresServer
from embedded_stack.processes import stop, wait_until_answers
from web_console.database import CONSOLE_DATABASE


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime


@dataclass
class Replica:
    """One process of a service served in replicas (`TestStack.served_replicas`)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL, as a node failure or the OOM killer ends a pod: no shutdown, no commit, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


def _serve_command(name: str) -> list[str]:
    return [sys.executable, "-m", "casework", "serve", name]


def _own_ports(name: str) -> dict[str, str]:
    """What a replica of `name` listens on besides HTTP: replicas on one machine need ports of their own."""
    return {"INBOUND_PORT": str(free_port())} if name == "notification" else {}


class TestStack:
    """The infrastructure of one test session, and the way to run services against it."""

    __test__ = False  # not a test class

    def __init__(self, root: Path) -> None:
        ports = StackPorts(
            postgres=free_port(),
            broker=free_port(),
            relay=free_port(),
            inbound=free_port(),
            dns=free_port(),
            oidc=free_port(),
            console=free_port(),
            services={name: free_port() for name in SERVICE_NAMES},
        )
        self.layout = StackLayout(root, ports)
        self.postgres = PostgresServer(self.layout.pgdata, ports.postgres)
        self.broker = TansuBroker(ports.broker, self.layout.logs / "broker.log")
        self.relay = DevMailRelay(
            self.layout.mail, self.layout.certs, ports.relay, RELAY_USER, self.layout.secrets()["relay_password"]
        )
        self.dns = DevDns(self.layout.certs, ports.dns)
        self.oidc = OidcProvider(
            self.layout.oidc,
            ports.oidc,
            self.layout.secrets(),
            [self.layout.console_url],
            SERVICE_NAMES,
            self.layout.logs / "oidc.log",
        )
        self._migrated: set[str] = set()
        self._templates: set[str] = set()  # databases migrated once, copied for each new database
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # what `served()` runs, by its base URL

    def start(self) -> None:
        self.postgres.start()
        self.broker.start()
        self.relay.start()
        self.dns.start()
        self.oidc.start()

    def stop(self) -> None:
        self.oidc.stop()
        self.dns.stop()
        self.relay.stop()
        self.broker.stop()
        self.postgres.stop("immediate")

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    def database_url(self, database: str) -> str:
        return self.postgres.url(database)

    def migrate(self, definition: Migratable, database: str | None = None) -> str:
        """The database migrated to head: a new one is a copy of a template migrated once per session (a
        session makes dozens of databases, and running a service's whole Alembic history for each took
        about 2 s); an existing one is upgraded."""
        url = self.database_url(database or definition.name)
        if url not in self._migrated:
            # Alembic's env runs its own event loop: keep it off the test's running loop.
            with ThreadPoolExecutor(max_workers=1) as pool:
                if definition.migrations.is_dir():
                    template = self._template(definition, pool)
                    if not pool.submit(ensure_database_sync, url, template).result():
                        pool.submit(upgrade, definition, url).result()
                else:  # a definition made up by a test: its tables straight from the metadata
                    pool.submit(ensure_database_sync, url).result()
                    pool.submit(asyncio.run, create_tables(definition.metadata, url)).result()
            self._migrated.add(url)
        return url

    def _template(self, definition: Migratable, pool: ThreadPoolExecutor) -> str:
        name = f"template_{definition.name}"
        if name not in self._templates:
            url = self.database_url(name)
            pool.submit(ensure_database_sync, url).result()
            pool.submit(upgrade, definition, url).result()
            self._templates.add(name)
        return name

    def settings_for(self, definition: ServiceDefinition, database: str | None = None, **overrides: Any) -> Any:
        env: dict[str, Any] = {k.lower(): v for k, v in self.layout.service_env(definition.name).items()}
        env |= {
            "database_url": self.migrate(definition, database),
            "kafka_bootstrap_servers": self.bootstrap_servers,
            "outbox_poll_interval_s": 0.05,
            "consumer_retry_base_s": 0.01,
            "log_json": True,
            "log_level": "WARNING",
        }
        return definition.settings_class(**(env | overrides))

    @asynccontextmanager
    async def service(
        self,
        name_or_definition: str | ServiceDefinition,
        database: str | None = None,
        listen: bool = False,
        **overrides: Any,
    ) -> AsyncIterator[RunningService]:
        """Run a service in-process. `listen=True` also serves it on its port (the layout's
        `<SERVICE>_SERVICE_URL`), for flows where another service calls it over HTTP."""
        definition = load_definition(name_or_definition) if isinstance(name_or_definition, str) else name_or_definition
        settings = self.settings_for(definition, database, **overrides)
        app = create_app(definition, settings)
        async with app.router.lifespan_context(app), _listening(app, settings, listen):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=settings.public_base_url) as client:
                yield RunningService(app, client, settings)

    @contextmanager
    def served(self, name: str, database: str | None = None, port: int | None = None, **env: str) -> Iterator[str]:
        """Run a service as deployed, in its own process (`casework serve`), against this stack;
        yields its base URL once it is ready. For tests that drive it from synchronous code. `port`
        defaults to a free one; the layout's port makes it the one the console and mails link to."""
        port = port or free_port()
        environment = self._service_environment(name, database, port, env)
        with self._process(f"{name}-{port}", _serve_command(name), environment, port) as url:
            yield url

    @contextmanager
    def served_replicas(self, name: str, n: int, database: str | None = None, **env: str) -> Iterator[list[Replica]]:
        """N replicas of a service as deployed, as a scaled-out deployment runs them: each its own process
        and port, all on one database and in one consumer group (`<service>-service`), all with their
        workers. They start side by side; yields them once every one is ready. A replica's `kill()` is a
        SIGKILL; whatever is still running at the end is stopped (SIGTERM, then SIGKILL)."""
        started: list[Replica] = []
        try:
            for _ in range(n):
                port = free_port()
                environment = self._service_environment(name, database, port, {**_own_ports(name), **env})
                log_path = self._log_path(f"{name}-{port}")
                with log_path.open("ab") as log:
                    process = subprocess.Popen(
                        _serve_command(name), env={**os.environ, **environment}, stdout=log, stderr=subprocess.STDOUT
                    )
                started.append(Replica(f"http://127.0.0.1:{port}", process, log_path))
            for replica in started:
                wait_until_answers(f"{replica.url}/health/ready", replica.process, replica.log, 90)
                self.processes[replica.url] = replica.process
            yield started
        finally:
            for replica in started:  # all told at once, so they stop side by side
                self.processes.pop(replica.url, None)
                if replica.alive:
                    replica.process.terminate()
            for replica in started:
                stop(replica.process, 20)

    def _service_environment(self, name: str, database: str | None, port: int, env: dict[str, str]) -> dict[str, str]:
        return {
            **self.layout.service_env(name),
            "DATABASE_URL": self.migrate(load_definition(name), database),
            "PORT": str(port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
            **env,
        }

    def _log_path(self, name: str) -> Path:
        log_path = self.layout.logs / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return log_path

    @contextmanager
    def served_console(self, database: str = CONSOLE, **env: str) -> Iterator[str]:
        """The web console as deployed (`web-console serve`) on the layout's console port, which the
        OpenID provider redirects back to and the mails link to."""
        environment = {
            **self.layout.console_env(),
            "DATABASE_URL": self.migrate(CONSOLE_DATABASE, database),
            "LOG_LEVEL": "INFO",
            **env,
        }
        command = [sys.executable, "-m", "web_console", "serve"]
        with self._process(CONSOLE, command, environment, self.layout.ports.console) as url:
            yield url

    @contextmanager
    def _process(self, name: str, command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
        log_path = self._log_path(name)
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_answers(f"{url}/health/ready", process, log_path, 60)
                self.processes[url] = process
                yield url
            finally:
                self.processes.pop(url, None)
                stop(process, 20)

    def nhs_numbers_in_logs(self) -> dict[str, list[str]]:
        """Valid NHS numbers in the logs of the services and consoles this stack served, by file."""
        found: dict[str, list[str]] = {}
        for log in sorted(self.layout.logs.glob("*.log")):
            if log.stem.split("-", 1)[0] in {*SERVICE_NAMES, CONSOLE}:
                if numbers := nhs_numbers_in(log.read_text(errors="replace")):
                    found[log.name] = numbers
        return found

    @functools.cached_property
    def _signing(self) -> ServiceSettings:
        # Built once: reading settings from the environment costs milliseconds, more than minting a token.
        return ServiceSettings(jwt_secret=SecretStr(self.layout.secrets()["jwt_secret"]), jwt_audience=API_AUDIENCE)

    def token(self, sub: str, org: str, *roles: str, ttl_s: int = 3600) -> str:
        """A dev token (signed with the stack's dev key), for any sub, organisation and roles."""
        return mint_token(self._signing, sub=sub, org=org, roles=roles, ttl_s=ttl_s)

    def auth(self, org: str, *roles: str, sub: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub or f'user-{uuid.uuid4().hex[:6]}', org, *roles)}"}


@asynccontextmanager
async def _listening(app: FastAPI, settings: ServiceSettings, listen: bool) -> AsyncIterator[None]:
    if not listen:
        yield
        return
    # The app's lifespan already runs (workers included): uvicorn only serves HTTP here.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.port,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_keep_alive=SERVER_KEEP_ALIVE_S,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestStack]:
    test_stack = TestStack(tmp_path_factory.mktemp("stack"))
    test_stack.start()
    try:
        yield test_stack
    finally:
        test_stack.stop()
    # after the whole session: no NHS number reached the log of any process it served
    leaked = test_stack.nhs_numbers_in_logs()
    assert not leaked, f"NHS numbers in service logs under {test_stack.layout.logs}: {leaked}"


@pytest.fixture
def auth(stack: TestStack) -> Callable[..., dict[str, str]]:
    return stack.auth


async def eventually(check: Callable[[], Any], within: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an (async) check until it returns a truthy value; fail with the last value otherwise."""
    import inspect

    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value: {value!r})")
        await asyncio.sleep(interval)


async def create_tables(metadata: MetaData, url: str) -> None:
    engine = create_engine(url, 1)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


def envelope_for(event_type: str, subject: str, data: dict[str, Any], source: str = "test") -> EventEnvelope:
    spec = registry.get(event_type)
    payload = spec.payload.model_validate(data).model_dump(mode="json")
    return EventEnvelope(type=event_type, source=source, subject=subject, dataschema=spec.dataschema, data=payload)


async def publish(bootstrap_servers: str, envelopes: list[EventEnvelope]) -> None:
    """Put envelopes straight on the bus, as another service's relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(envelope.topic, envelope.to_bytes(), key=envelope.subject.encode())
    finally:
        await producer.stop()
