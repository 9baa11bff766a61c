"""What the CDF benchmarks share: the service (or the bare baseline) as a real uvicorn process, seeding, RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from casework.auth import mint_token
from casework.services import load_definition
from casework.settings import ServiceSettings
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.ports import free_port
from embedded_stack.testing import TestStack

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def process(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server process; yields once it answers HTTP on `port`; stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start; see {log}") from None
                    time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def cdf_service(stack: TestStack, **settings: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The CDF service migrated and served by uvicorn in its own process (`casework serve cdf`)."""
    stack.migrate(load_definition("cdf"))
    port = free_port()
    env = {
        **stack.layout.service_env("cdf"),
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "LAPSE_SWEEP_INTERVAL_S": "0",
        **settings,
    }
    with process(
        [sys.executable, "-m", "casework", "serve", "cdf"], env, port, stack.layout.logs / "cdf-bench.log"
    ) as p:
        yield f"http://127.0.0.1:{port}", p


@contextmanager
def bare_service(stack: TestStack) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from concurrent.futures import ThreadPoolExecutor

    from casework.migrations import ensure_database_sync

    url = stack.database_url("bare")
    with ThreadPoolExecutor(max_workers=1) as pool:  # it runs its own event loop
        pool.submit(ensure_database_sync, url).result()
    port = free_port()
    env = {"BARE_DSN": url.replace("postgresql+asyncpg://", "postgresql://"), "BARE_PORT": str(port)}
    with process(
        [sys.executable, str(ROOT / "bench" / "bare_insert.py")], env, port, stack.layout.logs / "bare.log"
    ) as p:
        yield f"http://127.0.0.1:{port}", p


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def children(pid: int) -> list[int]:
    """Child processes (the service's SACT validation process and multiprocessing's resource tracker)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process (all its threads), zeros if it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _cpu_seconds(pid: int, reaped: bool = False) -> float:
    """utime + stime, and with `reaped` the children's that have exited and been waited for."""
    user, system = _cpu_times(pid)
    if not reaped:
        return user + system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return user + system
    return user + system + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by the server process, PostgreSQL (postmaster and every backend) and this
    process between start() and stop(): what a request costs each side, whatever else loads the machine."""

    def __init__(self, stack: TestStack, server_pid: int) -> None:
        self.server_pid = server_pid
        self.postmaster = int((stack.layout.pgdata / "postmaster.pid").read_text().split()[0])

    def _postgres(self) -> dict[int, float]:
        # backends that ended (a pool's overflow connections) are in the postmaster's reaped times
        return {self.postmaster: _cpu_seconds(self.postmaster, reaped=True)} | {
            pid: _cpu_seconds(pid) for pid in children(self.postmaster)
        }

    def _children(self) -> dict[int, float]:
        return {pid: _cpu_seconds(pid) for pid in children(self.server_pid)}

    def start(self) -> None:
        self._server = _cpu_times(self.server_pid)
        self._kids = self._children()
        self._pg = self._postgres()
        self._client = sum(os.times()[:2])

    def stop(self) -> dict[str, float]:
        pg_now = self._postgres()
        user, system = _cpu_times(self.server_pid)
        return {
            "server": user + system - sum(self._server),
            "server_sys": system - self._server[1],
            "server_children": sum(now - self._kids.get(pid, 0.0) for pid, now in self._children().items()),
            "postgres": sum(now - self._pg.get(pid, 0.0) for pid, now in pg_now.items()),
            "client": sum(os.times()[:2]) - self._client,
        }


class Auth:
    def __init__(self, stack: TestStack) -> None:
        self.settings = ServiceSettings(jwt_secret=stack.layout.secrets()["jwt_secret"])

    def __call__(self, org: str, role: str, sub: str = "bench") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, sub, org, [role], ttl_s=4 * 3600)}"}


def seed(base: str, auth: Auth, clinicians: list[dict[str, str]]) -> None:
    """The national list and confirmed clinicians (each dict: trust, gmc, name, email)."""
    with httpx.Client(base_url=f"{base}/api/v1/cdf", timeout=60) as http:
        loaded = http.post(
            "/list/import",
            content=SEED_LIST.read_bytes(),
            headers={**auth("X24", "cdf_manager"), "Content-Type": "text/csv"},
        )
        loaded.raise_for_status()
        for c in clinicians:
            body = {"trust_ods": c["trust"], "gmc_number": c["gmc"], "name": c["name"], "email": c["email"]}
            made = http.post("/clinicians", json=body, headers=auth(c["trust"], "clinician"))
            made.raise_for_status()
            lead = {**auth(c["trust"], "trust_cdf_lead"), "If-Match": made.headers["ETag"]}
            http.post(f"/clinicians/{made.json()['id']}/confirm", headers=lead).raise_for_status()
