"""Relay outage acceptance, full size: the relay is down for 60 s while 500 notifications are queued.

Prints, beside a baseline measured in the same run (the same 500 with the relay up throughout): how
long queueing took, how long the queue took to drain once the relay was back, messages per second,
what arrived at the relay, unique Message-IDs, duplicates, failures and attempts. The service runs
with its default sending settings (SEND_RATE_PER_S 50, RELAY_BACKOFF_CAP_S 10, ...) unless overridden.

    .venv/bin/python -m bench.notification_relay_outage [--outage 60] [--count 500] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "services" / "notification-service" / "tests" / "integration")
)

from notification_helpers import budget_event, count, publish_events, rows
from sqlalchemy import func, select

from bench.harness import infrastructure, print_table
from embedded_stack.mail_relay import delivery_counts
from embedded_stack.testing import RunningService, TestStack
from notification_service.db.models import Notification

TEMPLATE = Notification.template == "contract_budget_at_risk"


async def until(check: Any, within: float, interval: float = 0.1) -> float:
    """Seconds until the async check holds (raises after `within`)."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise TimeoutError(f"not reached within {within}s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def in_status(svc: RunningService, status: str) -> int:
    return await count(svc, TEMPLATE, Notification.status == status)


async def scenario(stack: TestStack, name: str, outage_s: float, n: int, overrides: dict[str, Any]) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    async with stack.service("notification", database=f"notification_bench_{run}", **overrides) as svc:
        await asyncio.sleep(3)  # let the consumer join its group, as in a running deployment
        if outage_s:
            stack.relay.stop()
        stopped_at = time.monotonic()
        try:
            await publish_events(stack, [budget_event(run, i) for i in range(n)])
            queued_in = await until(lambda: _all_queued(svc, n), within=300)
            during: dict[str, Any] = {}
            if outage_s:
                await asyncio.sleep(max(outage_s - (time.monotonic() - stopped_at), 0))
                during = await _during(svc)
        finally:
            if outage_s:
                stack.relay.start()
        back_at = time.monotonic() if outage_s else stopped_at
        await until(lambda: _all_done(svc, n), within=600)
        drain = time.monotonic() - back_at
        delivered = await rows(svc, TEMPLATE)
    ids = {d.message_id for d in delivered}
    at_relay = {k: v for k, v in delivery_counts(stack.layout.mail).items() if k in ids}
    return {
        "case": name,
        "notifications": n,
        "outage_s": outage_s,
        "queued_in_s": round(queued_in, 1),
        "failed_during_outage": during.get("failed", 0),
        "attempts_spent_during_outage": during.get("attempts", 0),
        "drain_s": round(drain, 1),
        "msgs_per_s": round(n / drain, 1) if drain else float("nan"),
        "arrived": sum(at_relay.values()),
        "unique_message_ids": len(at_relay),
        "duplicates": sum(v - 1 for v in at_relay.values()),
        "failed": sum(1 for d in delivered if d.status == "failed"),
        "max_attempts": max((d.attempts for d in delivered), default=0),
    }


async def _all_queued(svc: RunningService, n: int) -> bool:
    return await count(svc, TEMPLATE) == n


async def _all_done(svc: RunningService, n: int) -> bool:
    return await in_status(svc, "sent") + await in_status(svc, "failed") == n


async def _during(svc: RunningService) -> dict[str, int]:
    async with svc.runtime.sessions() as session:
        attempts = await session.scalar(select(func.coalesce(func.sum(Notification.attempts), 0)).where(TEMPLATE))
    return {"failed": await in_status(svc, "failed"), "attempts": int(attempts or 0)}


async def main(outage_s: float, n: int, rate: float) -> None:
    overrides = {"send_rate_per_s": rate, "log_level": "ERROR"}
    async with infrastructure() as stack:
        results = [
            await scenario(stack, "baseline: relay up", 0, n, overrides),
            await scenario(stack, f"relay down {outage_s:.0f}s", outage_s, n, overrides),
        ]
    print_table(f"notification relay outage ({n} notifications, SEND_RATE_PER_S={rate:g})", results)
    outage = results[1]
    ok = (
        outage["arrived"] == n
        and outage["unique_message_ids"] == n
        and outage["duplicates"] == 0
        and outage["failed"] == 0
        and outage["failed_during_outage"] == 0
    )
    print(f"\nacceptance (all {n} arrive, each Message-ID once, none failed): {'PASS' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the relay is down")
    parser.add_argument("--count", type=int, default=500, help="notifications queued during the outage")
    parser.add_argument("--rate", type=float, default=50.0, help="SEND_RATE_PER_S of the service")
    args = parser.parse_args()
    asyncio.run(main(args.outage, args.count, args.rate))
