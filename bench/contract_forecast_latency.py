"""Forecast update -> forecast outturn changed in contract-service, at a paced rate, beside the broker.

What it measures (variant printed with the figures):
- contract-service runs in its own process (`casework serve contract`), as deployed.
- `forecast-event`: a `cdf.forecast.updated` envelope is produced to `cdf.events` (as cdf-service's
  outbox relay would) and the clock stops when contract-service has committed the new forecast of
  that provider x entry, the row GET /forecast-outturn computes from (its at-risk evaluation commits
  in the same transaction). The commit is seen through a PostgreSQL NOTIFY raised by a trigger the
  bench adds to its own throwaway database (delivered when the transaction commits, no polling).
- The SACT-start variant (a SACT submission posted to cdf-service until the outturn moves) needs
  cdf-service's SACT intake and forecast publication, which are not on main yet.
Beside it, the raw broker produce -> consume round trip at the same rate, measured in the same run
(`bench.harness.broker_round_trip`), is the floor the flow sits on.

    .venv/bin/python -m bench.contract_forecast_latency --rate 100 --count 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench.harness import Latencies, broker_round_trip, infrastructure, print_table
from casework.bus import ensure_topics
from casework.services import load_definition
from embedded_stack.testing import TestStack, envelope_for

FY = "2026/27"


@dataclass
class ServiceProcess:
    client: httpx.AsyncClient
    database_url: str
    pid: int


DRUG = "37620001110000107"
TARGET_P95_MS = 100.0
BASE_VALUE = 1_000_000


def forecast(provider: str, entry: str, value: int) -> Any:
    months = [
        {"month": f"{2026 + (m > 9)}-{(m + 2) % 12 + 1:02d}", "fy_month": m, "actual": "0", "forecast": "0"}
        for m in range(1, 13)
    ]
    months[-1]["forecast"] = str(value)
    data = {
        "provider_ods": provider,
        "entry_id": entry,
        "dmd_id": DRUG,
        "financial_year": FY,
        "as_of": "2026-06-30",
        "actual_to_date": "0",
        "forecast_outturn": str(value),
        "lower": str(value),
        "upper": str(value),
        "run_rate_outturn": str(value),
        "months": months,
    }
    return envelope_for("cdf.forecast.updated", f"{provider}:{entry}", data, source="cdf")


def _serve(stack: TestStack, database_url: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {**os.environ, **stack.layout.service_env("contract"), "DATABASE_URL": database_url, "LOG_LEVEL": "ERROR"}
    return subprocess.Popen([sys.executable, "-m", "casework", "serve", "contract"], env=env, stdout=log, stderr=log)


@asynccontextmanager
async def contract_process(stack: TestStack) -> AsyncIterator[ServiceProcess]:
    """contract-service in its own process, as deployed (`casework serve contract`), on the stack."""
    definition = load_definition("contract")
    database_url = stack.migrate(definition)
    log = (stack.layout.root / "contract-bench.log").open("ab")
    process = _serve(stack, database_url, log)
    base_url = stack.layout.service_url("contract")
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            for _ in range(300):
                if process.poll() is not None:
                    raise RuntimeError(f"contract-service exited; see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            yield ServiceProcess(client, database_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def set_up_providers(stack: TestStack, contract: ServiceProcess, count: int) -> list[str]:
    """Providers with a contract and a CDF line, so each update runs the full at-risk evaluation."""
    headers = stack.auth("X24", "contract_manager")
    terms = {
        "schedules": [{"hub": "NW", "hub_name": "North West"}],
        "service_lines": [
            {"code": "S1", "hub": "NW", "description": "service", "price": "100.00", "activity_plan": ["1"] * 12}
        ],
    }
    providers = [f"B{i:02d}" for i in range(count)]
    for ods in providers:
        created = await contract.client.post(
            "/api/v1/contracts",
            json={"provider_ods": ods, "financial_year": FY, "title": "bench", "terms": terms},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        line = await contract.client.post(
            f"/api/v1/contracts/{created.json()['id']}/budget-lines",
            json={"kind": "cdf", "category": "cdf", "line_name": "CDF drugs", "budget": str(BASE_VALUE * 5)},
            headers=headers,
        )
        assert line.status_code == 201, line.text
    return providers


NOTIFY_SQL = """
CREATE OR REPLACE FUNCTION bench_forecast_committed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('bench_forecast', NEW.provider_ods || '|' || NEW.entry_id || '|' || NEW.forecast_outturn::bigint);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS bench_forecast_committed ON cdf_forecasts;
CREATE TRIGGER bench_forecast_committed AFTER INSERT OR UPDATE ON cdf_forecasts
  FOR EACH ROW EXECUTE FUNCTION bench_forecast_committed();
"""


async def watch_commits(database_url: str) -> asyncpg.Connection:
    """PostgreSQL delivers a NOTIFY when the transaction that raised it commits: the moment the new
    forecast becomes what GET /forecast-outturn reads. (The trigger exists only in the bench's database.)"""
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await conn.execute(NOTIFY_SQL)
    return conn


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def forecast_to_outturn(
    stack: TestStack, contract: ServiceProcess, providers: list[str], rate: float, count: int, warmup: int
) -> tuple[Latencies, float]:
    """Latencies of the measured events, and contract-service's CPU milliseconds per measured event."""
    keys = [(p, f"CDF-B{e}") for e in range(5) for p in providers]
    plan = [(keys[i % len(keys)], BASE_VALUE + i) for i in range(warmup + count)]
    index = {f"{p}|{e}|{value}": i for i, ((p, e), value) in enumerate(plan)}
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    everything = asyncio.Event()
    cpu_at = {"start": cpu_seconds(contract.pid)}  # moved on when the warm-up is through

    def committed(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        now = time.perf_counter()
        if (i := index.get(payload)) is not None:
            seen.setdefault(i, now)
            if i == warmup - 1:
                cpu_at["start"] = cpu_seconds(contract.pid)
            if len(seen) == len(plan):
                cpu_at["end"] = cpu_seconds(contract.pid)
                everything.set()

    listener = await watch_commits(contract.database_url)
    await listener.add_listener("bench_forecast", committed)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all")
    await producer.start()
    started = time.perf_counter()
    for i, ((provider, entry), value) in enumerate(plan):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        envelope = forecast(provider, entry, value)
        sent[i] = time.perf_counter()
        await producer.send(envelope.topic, envelope.to_bytes(), key=envelope.subject.encode())
    await producer.flush()
    await asyncio.wait_for(everything.wait(), timeout=120)
    elapsed = max(seen.values()) - sent[warmup]  # the measured events only
    await producer.stop()
    await listener.close()
    await check_through_api(stack, contract, plan)
    measured = range(warmup, len(plan))
    latencies = Latencies(
        "cdf.forecast.updated -> outturn changed", [(seen[i] - sent[i]) * 1000 for i in measured], elapsed
    )
    return latencies, (cpu_at["end"] - cpu_at["start"]) * 1000 / count


async def check_through_api(stack: TestStack, contract: ServiceProcess, plan: list[Any]) -> None:
    """The API shows what the watcher saw: each provider's outturn is the sum of its entries' last values."""
    last: dict[tuple[str, str], int] = {}
    for key, value in plan:
        last[key] = value
    headers = stack.auth("X24", "finance_lead")
    for provider in sorted({k[0] for k in last}):
        response = await contract.client.get(
            "/api/v1/forecast-outturn", params={"provider": provider, "fy": FY}, headers=headers
        )
        expected = sum(v for (p, _), v in last.items() if p == provider)
        assert Decimal(response.json()["totals"]["forecast_outturn"]) == expected, (provider, response.text)


async def run(rate: float, count: int, warmup: int, providers: int) -> None:
    async with infrastructure() as stack:
        await ensure_topics(stack.bootstrap_servers, ["cdf.events", "contract.events"], partitions=3)
        baseline = await broker_round_trip(stack.bootstrap_servers, rate, count)
        async with contract_process(stack) as contract:
            names = await set_up_providers(stack, contract, providers)
            await asyncio.sleep(1.0)  # let the consumer join its group before the clock starts
            flow, cpu_ms = await forecast_to_outturn(stack, contract, names, rate, count, warmup)
            load = [f"{x:.2f}" for x in os.getloadavg()]
    print_table(
        f"contract forecast latency at {rate:g} events/s (variant: forecast-event; SACT-start variant waits for "
        "cdf's SACT intake)",
        [baseline.row(), flow.row()],
    )
    p95 = flow.row()["p95_ms"]
    verdict = "meets" if float(p95) <= TARGET_P95_MS else "MISSES"
    print(f"\ntarget p95 <= {TARGET_P95_MS:g} ms: {verdict} ({p95} ms)")
    print(f"contract-service CPU per event (its process, user + system): {cpu_ms:.2f} ms")
    print("load average during the run (2-core machine shared with other work): " + ", ".join(load))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--count", type=int, default=1000, help="events measured")
    parser.add_argument(
        "--warmup",
        type=int,
        default=300,
        help="events sent first and not measured (pool connections prepare their statements)",
    )
    parser.add_argument("--providers", type=int, default=20, help="providers (x 5 list entries) the events rotate over")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.count, args.warmup, args.providers))


if __name__ == "__main__":
    main()
