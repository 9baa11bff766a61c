"""Starts and stops the whole platform on one machine, in dependency order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from casework.migrations import ensure_database_sync, upgrade
from casework.services import load_definition
from embedded_stack.broker import TansuBroker
from embedded_stack.dev_dns import DevDns
from embedded_stack.layout import CONSOLE, RELAY_USER, SERVICES, StackLayout
from embedded_stack.mail_relay import DevMailRelay
from embedded_stack.oidc import OidcProvider, personas
from embedded_stack.postgres import PostgresServer
from embedded_stack.processes import stop, wait_until_answers
from web_console.database import CONSOLE_DATABASE


class EmbeddedStack:
    def __init__(self, layout: StackLayout, services: tuple[str, ...] = SERVICES) -> None:
        self.layout = layout
        self.services = services
        self.postgres = PostgresServer(layout.pgdata, layout.ports.postgres)
        self.broker = TansuBroker(layout.ports.broker, layout.logs / "broker.log")
        self.relay: DevMailRelay | None = None
        self.dns: DevDns | None = None
        self.oidc = OidcProvider(
            layout.oidc, layout.ports.oidc, layout.secrets(), [layout.console_url], SERVICES, layout.logs / "oidc.log"
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    # -- infrastructure -------------------------------------------------------------------------

    def start_infrastructure(self) -> None:
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        self.broker.start()
        self.relay = DevMailRelay(
            self.layout.mail,
            self.layout.certs,
            self.layout.ports.relay,
            RELAY_USER,
            self.layout.secrets()["relay_password"],
        )
        self.relay.start()
        self.dns = DevDns(self.layout.certs, self.layout.ports.dns)
        self.dns.start()
        self.oidc.start()

    def migrate(self) -> None:
        for name in self.services:
            url = self.layout.database_url(name)
            ensure_database_sync(url)
            upgrade(load_definition(name), url)
        console_url = self.layout.database_url(CONSOLE)
        ensure_database_sync(console_url)
        upgrade(CONSOLE_DATABASE, console_url)

    # -- services -------------------------------------------------------------------------------

    def start_services(self) -> None:
        for name in self.services:
            self._spawn(name, [sys.executable, "-m", "casework", "serve", name], self.layout.service_env(name))
        self._spawn(CONSOLE, [sys.executable, "-m", "web_console", "serve"], self.layout.console_env())
        self._write_pids()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self._commands[name] = (command, env)
        log = (self.layout.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def base_url(self, name: str) -> str:
        return self.layout.console_url if name == CONSOLE else self.layout.service_url(name)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every service and the console answer /health/ready (a process that exits fails at once)."""
        deadline = time.monotonic() + timeout
        for name in (*self.services, CONSOLE):
            log = self.layout.logs / f"{name}.log"
            left = max(1.0, deadline - time.monotonic())
            wait_until_answers(f"{self.base_url(name)}/health/ready", self.processes.get(name), log, left)

    def _write_pids(self) -> None:
        self.layout.run.mkdir(parents=True, exist_ok=True)
        (self.layout.run / "stack.pid").write_text(str(os.getpid()))
        for name, process in self._all_processes().items():
            (self.layout.run / f"{name}.pid").write_text(str(process.pid))

    def _all_processes(self) -> dict[str, subprocess.Popen[bytes]]:
        parts = {"broker": self.broker.process, "oidc": self.oidc.process}
        return {**{k: p for k, p in parts.items() if p is not None}, **self.processes}

    # -- keeping it up ----------------------------------------------------------------------------

    def revive(self) -> list[str]:
        """Start again whatever part of the stack has died (PostgreSQL, the broker, the OpenID provider, a
        service, the console); says what it restarted and why, for `up` to print."""
        restarted: list[str] = []
        if not self.postgres.running():
            self.postgres.start()
            restarted.append("PostgreSQL had stopped: started again (its data is kept)")
        if (code := _exit_code(self.broker.process)) is not None:
            self.broker.start()
            restarted.append(f"the broker exited ({code}): started again, empty (the services recreate their topics)")
        if (code := _exit_code(self.oidc.process)) is not None:
            self.oidc.start()
            restarted.append(f"the OpenID provider exited ({code}): started again (everyone signs in again)")
        for name, process in list(self.processes.items()):
            if (code := _exit_code(process)) is not None:
                self._spawn(name, *self._commands[name])
                restarted.append(f"{name} exited ({code}): started again")
        if restarted:
            self._write_pids()
        return restarted

    # -- stopping -------------------------------------------------------------------------------

    def stop_services(self) -> None:
        for process in self.processes.values():  # all at once, then wait for each
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            stop(process, 15)
        self.processes.clear()
        for pid_file in self.layout.run.glob("*.pid"):
            pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        self.stop_services()
        self.oidc.stop()
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self.dns is not None:
            self.dns.stop()
            self.dns = None
        self.broker.stop()
        self.postgres.stop()

    def urls(self) -> list[tuple[str, str]]:
        rows = [("Web console (sign in here)", self.layout.console_url)]
        rows += [(f"{name} service", f"{self.layout.service_url(name)}/docs") for name in self.services]
        ports = self.layout.ports
        rows += [
            ("OpenID provider (dev personas)", self.oidc.issuer),
            ("PostgreSQL", self.layout.database_url("<service>").replace("+asyncpg", "")),
            ("Kafka broker (Tansu)", f"127.0.0.1:{ports.broker}"),
            ("SMTP relay (STARTTLS+AUTH)", f"127.0.0.1:{ports.relay}  user {RELAY_USER}"),
            ("Inbound mail gateway (STARTTLS)", f"127.0.0.1:{ports.inbound}"),
            ("Dev DNS for sender checks (UDP)", f"127.0.0.1:{ports.dns}  DKIM selector dev"),
            ("Mail the relay received", str(self.layout.mail)),
            ("Logs", str(self.layout.logs)),
        ]
        return rows


def _exit_code(process: subprocess.Popen[bytes] | None) -> str | None:
    """How a process ended ("code 1", "signal 9"), or None while it runs (or was never started)."""
    if process is None or (code := process.poll()) is None:
        return None
    return f"signal {-code}" if code < 0 else f"code {code}"


def persona_lines() -> list[str]:
    """The dev personas `make up` prints: who to sign in as for each kind of work, and the id that
    `make token PERSONA=...` takes."""
    return [f"{p.name:<22} {p.title}, {p.org_name} ({p.org})  [{p.id}]" for p in personas()]


def stop_recorded(layout: StackLayout) -> list[str]:
    """`make down` from another terminal: signal the `up` process, then clean up what is left."""
    stopped: list[str] = []
    # `up` first, so it stops what it started rather than starting it again as it dies
    pid_files = (
        sorted(layout.run.glob("*.pid"), key=lambda p: (p.stem != "stack", p.stem)) if layout.run.exists() else []
    )
    for pid_file in pid_files:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            stopped.append(pid_file.stem)
        except (ProcessLookupError, ValueError):
            pass
        pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + 20
    postgres = PostgresServer(layout.pgdata, layout.ports.postgres)
    while postgres.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    if postgres.running():
        postgres.stop()
        stopped.append("postgres")
    return stopped


def project_root() -> Path:
    return Path(os.environ.get("STACK_HOME", Path.cwd() / ".local"))
