"""What every benchmark shares: the real infrastructure, timing, percentiles and a printed table.

Benchmarks start the same PostgreSQL, Tansu broker and SMTP relay as the tests (free ports, a temp
folder) and always measure a baseline in the same process on the same machine, so the printed ratio
means something whatever machine runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from casework.bus import ensure_topics
from casework.settings import ServiceSettings
from embedded_stack.testing import TestStack


@asynccontextmanager
async def infrastructure() -> AsyncIterator[TestStack]:
    """The stack in a temp folder, removed afterwards (a run leaves a database and broker data of hundreds
    of MB) unless BENCH_KEEP_STACK is set, to read its logs."""
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    stack = TestStack(root)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        if not os.environ.get("BENCH_KEEP_STACK"):
            shutil.rmtree(root, ignore_errors=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Latencies:
    name: str
    samples_ms: list[float]
    elapsed_s: float

    @property
    def rate(self) -> float:
        return len(self.samples_ms) / self.elapsed_s if self.elapsed_s else float("nan")

    def row(self) -> dict[str, float | str]:
        return {
            "name": self.name,
            "n": len(self.samples_ms),
            "per_s": round(self.rate, 1),
            "p50_ms": round(percentile(self.samples_ms, 50), 2),
            "p95_ms": round(percentile(self.samples_ms, 95), 2),
            "p99_ms": round(percentile(self.samples_ms, 99), 2),
            "mean_ms": round(statistics.fmean(self.samples_ms), 2) if self.samples_ms else float("nan"),
        }


def print_table(title: str, rows: list[dict[str, float | str]]) -> None:
    print(f"\n== {title}")
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))


async def broker_round_trip(bootstrap: str, rate_per_s: float, count: int, fetch_wait_ms: int = 10) -> Latencies:
    """Raw produce -> consume latency on the broker at a paced rate: the floor any event flow sits on."""
    topic = f"bench-rtt-{uuid.uuid4().hex[:6]}"
    await ensure_topics(ServiceSettings(kafka_bootstrap_servers=bootstrap, kafka_topic_partitions=3), [topic])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_wait_ms,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
        rebalance_timeout_ms=1000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    received: dict[int, float] = {}

    async def consume() -> None:
        while len(received) < count:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    received[json.loads(record.value)["i"]] = now

    reader = asyncio.create_task(consume())
    sent: dict[int, float] = {}
    started = time.perf_counter()
    for i in range(count):
        target = started + i / rate_per_s
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        sent[i] = time.perf_counter()
        await producer.send(topic, json.dumps({"i": i}).encode(), key=str(i).encode())
    await asyncio.wait_for(reader, timeout=60)
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return Latencies("broker produce->consume", [(received[i] - sent[i]) * 1000 for i in range(count)], elapsed)


# --- figures against their targets ---------------------------------------------------------------

FIGURES_ENV = "BENCH_FIGURES"  # a file each judged figure is appended to as a JSON line (bench/summary.py)


@dataclass(frozen=True)
class Figure:
    """One judged figure of a run: its value, the baseline measured beside it, and the target, which applies
    to the ratio when there is one (value / baseline, or baseline / value for times: see `ratio`) and to
    the value otherwise."""

    name: str
    value: float
    unit: str
    at_least: float | None = None
    at_most: float | None = None
    baseline: float | None = None
    ratio: float | None = None

    @property
    def judged(self) -> float:
        return self.value if self.ratio is None else self.ratio

    @property
    def met(self) -> bool:
        low = self.at_least is None or self.judged >= self.at_least
        high = self.at_most is None or self.judged <= self.at_most
        return low and high

    @property
    def target(self) -> str:
        bounds = []
        if self.at_least is not None:
            bounds.append(f">= {self.at_least:g}")
        if self.at_most is not None:
            bounds.append(f"<= {self.at_most:g}")
        return ("" if self.ratio is None else "ratio ") + " and ".join(bounds)


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    baseline: float | None = None,
    ratio: float | None = None,
) -> Figure:
    """Print a figure with its verdict, and record it where `make bench` collects figures."""
    judged = Figure(name, value, unit, at_least, at_most, baseline, ratio)
    against = "" if baseline is None else f", baseline {baseline:g} {unit}"
    of_it = "" if ratio is None else f", ratio {ratio:.2f}"
    print(f"{name}: {value:g} {unit}{against}{of_it} (target {judged.target}): {'met' if judged.met else 'MISSED'}")
    if path := os.environ.get(FIGURES_ENV):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(judged.__dict__) + "\n")
    return judged
