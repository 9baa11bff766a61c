"""cdf-service's SACT validation processes die with it: a SIGKILL of the service leaves no orphans."""

from __future__ import annotations

import io
import os
import random
import signal
import time
from pathlib import Path

import httpx

from cdf_service.synthetic.national import TrustPlan, build_trust
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import TestStack

TRUST = "RGT"


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def sact_file() -> bytes:
    rng = random.Random(15)
    plan = TrustPlan(cdf_patients=10, routine_patients=400)
    buffer = io.StringIO()
    write_sact_csv(buffer, build_trust(TRUST, plan, rng).courses, plan.as_of, rng)
    return buffer.getvalue().encode()


def test_a_killed_cdf_service_leaves_no_validation_process_behind(stack: TestStack) -> None:
    data = sact_file()
    small = str(64 * 1024)
    env = {"SACT_CHUNK_BYTES": small, "SACT_INLINE_MAX_BYTES": small, "SACT_VALIDATION_PROCESSES": "2"}
    workers: set[int] = set()
    try:
        with stack.served("cdf", database="cdf_orphans", **env) as url:
            service = stack.processes[url]
            params = {"provider_ods": TRUST, "period": "2026-10", "submission_id": "orphans"}
            headers = {**stack.auth(TRUST, "provider_system"), "Content-Type": "text/csv"}
            accepted = httpx.post(f"{url}/api/v1/sact/submissions", params=params, content=data, headers=headers)
            assert accepted.status_code == 202, accepted.text
            deadline = time.monotonic() + 60
            while len(workers) < 2 and time.monotonic() < deadline:  # the pool starts with the first piece
                workers = {p for p in children(service.pid) if b"multiprocessing" in _cmdline(p)}
                time.sleep(0.1)
            assert len(workers) >= 2, f"no validation processes under {service.pid}"
            service.send_signal(signal.SIGKILL)
            service.wait(10)
            deadline = time.monotonic() + 5
            while any(alive(p) for p in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not [p for p in workers if alive(p)], "validation processes outlived the service"
    finally:
        for pid in workers:  # what this test started, should it have outlived the service
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""
