"""CDF applications over HTTP: the real service vs a bare FastAPI + asyncpg INSERT, same client load.

Both are served by uvicorn in their own process (same defaults) against the same PostgreSQL; the same
client (httpx, CONCURRENCY connections kept alive) drives each for DURATION seconds after a warm-up.
The service does what an application really costs: JWT, validation, list entry in force, clinician
check, duplicate check, decision, insert, outbox event, audit row, forecast mark, Idempotency-Key; its
outbox relay and forecaster run in the same process while it is measured.

    .venv/bin/python bench/cdf_applications.py [--concurrency 16] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdf_common import Auth, CpuMeter, bare_service, cdf_service, seed
from bench.harness import Latencies, figure, infrastructure, print_table
from cdf_service.synthetic.people import gmc_number, nhs_number_for

TRUSTS = ("RRV", "RGT", "RTH", "RM1", "RWE")
PLANNED = date.today() + timedelta(days=14)
Request = Callable[[int], tuple[str, dict[str, Any], dict[str, str]]]


async def drive(base: str, make: Request, concurrency: int, duration: float, first: int) -> Latencies:
    samples: list[float] = []
    errors: dict[int | str, int] = {}
    counter = iter(range(first, first + 10_000_000))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        end = time.perf_counter() + duration

        async def worker() -> None:
            while time.perf_counter() < end:
                path, body, headers = make(next(counter))
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body, headers=headers)
                except httpx.TransportError as exc:  # counted, not fatal: the run goes on
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code == 201:
                    samples.append(elapsed)
                else:
                    errors[response.status_code] = errors.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - started
    if errors:
        print(f"  non-201 answers from {base}: {errors}")
    return Latencies(base, samples, took)


def applications(entries: list[dict[str, Any]], clinicians: dict[str, list[str]], auth: Auth) -> Request:
    headers = {t: auth(t, "clinician", sub=f"bench-{t}") for t in TRUSTS}

    def make(i: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        trust = TRUSTS[i % len(TRUSTS)]
        entry = entries[i % len(entries)]
        body = {
            "nhs_number": nhs_number_for(i),
            "date_of_birth": "1962-05-17",
            "provider_ods": trust,
            "entry_id": entry["entry_id"],
            "clinician_gmc": clinicians[trust][i % 2],
            "answers": {c["code"]: True for c in entry["criteria"]},
            "planned_start": PLANNED.isoformat(),
            "consent_confirmed": True,
        }
        return "/api/v1/cdf/applications", body, {**headers[trust], "Idempotency-Key": f"bench-{i}"}

    return make


def _profile(pid: int, output: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy on a server while it is measured (optional: --profile FILE, raw collapsed stacks; PYSPY_ARGS
    replaces --nonblocking, e.g. "--native" to see inside asyncpg's and pydantic's compiled code)."""
    if output is None:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "-p",
            str(pid),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            output,
            *os.environ.get("PYSPY_ARGS", "--nonblocking").split(),
        ]
    )


def _stop(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        spy.wait()


def bare(make: Request) -> Request:
    def make_bare(i: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        _, body, _ = make(i)
        return "/insert", body, {}

    return make_bare


async def main(concurrency: int, duration: float, profile: str | None) -> None:
    rng = random.Random(5)
    async with infrastructure() as stack:
        auth = Auth(stack)
        clinicians = {t: [gmc_number(rng), gmc_number(rng)] for t in TRUSTS}
        people = [
            {"trust": t, "gmc": g, "name": f"Dr {g}", "email": f"dr.{g}@nhs.net"}
            for t, gs in clinicians.items()
            for g in gs
        ]
        with cdf_service(stack) as (cdf_url, proc):
            seed(cdf_url, auth, people)
            async with httpx.AsyncClient() as client:
                listed = (
                    await client.get(
                        f"{cdf_url}/api/v1/cdf/list",
                        params={"on": PLANNED.isoformat(), "open_only": "true", "limit": 500},
                        headers=auth("RRV", "clinician"),
                    )
                ).json()["items"]
            make = applications(listed, clinicians, auth)
            await drive(cdf_url, make, concurrency, 5, first=0)  # warm-up
            spy, meter = _profile(proc.pid, profile), CpuMeter(stack, proc.pid)
            meter.start()
            service = await drive(cdf_url, make, concurrency, duration, first=20_000)
            service_cpu = meter.stop()
            _stop(spy)
        with bare_service(stack) as (bare_url, bare_proc):
            await drive(bare_url, bare(make), concurrency, 5, first=0)
            spy, meter = _profile(bare_proc.pid, f"{profile}.bare" if profile else None), CpuMeter(stack, bare_proc.pid)
            meter.start()
            baseline = await drive(bare_url, bare(make), concurrency, duration, first=20_000)
            baseline_cpu = meter.stop()
            _stop(spy)
    service.name, baseline.name = "cdf-service POST /cdf/applications", "bare FastAPI + asyncpg INSERT"
    print_table(
        f"CDF applications, {concurrency} concurrent clients, {duration:.0f} s each", [service.row(), baseline.row()]
    )
    print_table(
        "CPU milliseconds per request (server process, its system part, PostgreSQL, this benchmark's client)",
        [
            {"name": run.name, **{k: round(1000 * v / max(1, len(run.samples_ms)), 2) for k, v in cpu.items()}}
            for run, cpu in ((service, service_cpu), (baseline, baseline_cpu))
        ],
    )
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    rate_ratio = service.rate / baseline.rate
    p99 = service.row()["p99_ms"], baseline.row()["p99_ms"]
    p99_ratio = float(p99[0]) / float(p99[1])
    print()
    figure(
        "CDF applications rate",
        round(service.rate, 1),
        "/s",
        baseline=round(baseline.rate, 1),
        ratio=rate_ratio,
        at_least=0.75,
    )
    figure("CDF applications p99", float(p99[0]), "ms", baseline=float(p99[1]), ratio=p99_ratio, at_most=1.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--profile", help="write py-spy raw stacks of both servers here (and to FILE.bare)")
    args = parser.parse_args()
    asyncio.run(main(args.concurrency, args.duration, args.profile))
