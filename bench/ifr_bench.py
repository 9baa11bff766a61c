"""IFR service figures on the real stack: case actions, the worklist, the deadline sweep and the
quarterly return, each beside a baseline measured in the same run (GET /health/live on the same app).

    .venv/bin/python -m bench.ifr_bench [cases]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "ifr-service" / "tests"))

from ifr_http import Ifr

from bench.harness import Latencies, infrastructure, print_table
from ifr_service.use_cases.deadlines import sweep_deadlines
from ifr_service.use_cases.workflow import today


async def timed(name: str, n: int, call: Callable[[], Awaitable[object]]) -> Latencies:
    samples = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    return Latencies(name, samples, time.perf_counter() - started)


async def main(cases: int) -> None:
    async with infrastructure() as stack, stack.service("ifr", database="ifr_bench", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        rows = [(await timed("baseline GET /health/live", 200, lambda: svc.client.get("/health/live"))).row()]
        rows.append((await timed("draft + submit", cases, lambda: ifr.submitted(received_on=date(2025, 12, 23)))).row())
        params = {"overdue": True, "limit": 50}
        rows.append(
            (
                await timed(
                    f"worklist page (overdue, {cases} cases)",
                    200,
                    lambda: svc.client.get("/api/v1/ifr/requests", params=params, headers=ifr.officer),
                )
            ).row()
        )
        q = f"{today().year}-Q{(today().month - 1) // 3 + 1}"
        rows.append(
            (
                await timed(
                    "quarterly return (JSON)",
                    20,
                    lambda: svc.client.get("/api/v1/ifr/reports/quarterly", params={"quarter": q}, headers=ifr.officer),
                )
            ).row()
        )
        first = time.perf_counter()
        raised = await sweep_deadlines(svc.runtime)
        first_s = time.perf_counter() - first
        second = time.perf_counter()
        again = await sweep_deadlines(svc.runtime)
        second_s = time.perf_counter() - second
        print_table("IFR service", rows)
        print_table(
            "deadline sweep",
            [
                {"round": "first", "alerts": raised, "seconds": round(first_s, 2)},
                {"round": "second (nothing new)", "alerts": again, "seconds": round(second_s, 2)},
            ],
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
