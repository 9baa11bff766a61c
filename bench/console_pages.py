"""The web console's IFR pages over the real stack, beside the API call each page wraps.

ifr-service and the console run as deployed (their own processes) against the benchmark's PostgreSQL,
broker and OpenID provider; 10,000 IFR cases are made through the API; a case officer signs in through
the provider (the same code flow the browser makes) and the script times, on loopback with keep-alive:
- the worklist page (50 rows, filtered to the screening stage, by next due date) against the API call
  it wraps (`GET /api/v1/ifr/requests?stage=screening&sort=next_due&limit=50`, the officer's own token);
- the case page (the case, its history, documents, letters and panel) against `GET /api/v1/ifr/requests/{id}`.
Loopback latency is the server's time plus well under a millisecond.

    .venv/bin/python -m bench.console_pages [cases]
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import date, timedelta

import httpx

from bench.console_common import signed_in_console, timed
from bench.harness import figure, infrastructure, print_table
from ifr_service.api.examples import APPLICATION_EXAMPLE

TARGET_MS = 150
WORKERS = 16


async def seed(ifr_url: str, headers: dict[str, str], officer: dict[str, str], cases: int) -> list[str]:
    """`cases` submitted requests, received over the last year; a third acknowledged and screened."""
    ids: list[str] = []
    queue = list(range(cases))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            n = queue.pop()
            draft = (await client.post("/api/v1/ifr/requests", json=APPLICATION_EXAMPLE, headers=headers)).json()
            received = (date.today() - timedelta(days=n % 365)).isoformat()
            case = (
                await client.post(
                    f"/api/v1/ifr/requests/{draft['id']}/submit",
                    json={"received_on": received},
                    headers={**officer, "If-Match": f'W/"{draft["version"]}"'},
                )
            ).json()
            if n % 3 == 0:
                for action in ("acknowledge", "screen"):
                    case = (
                        await client.post(
                            f"/api/v1/ifr/requests/{case['id']}/{action}",
                            headers={**officer, "If-Match": f'W/"{case["version"]}"'},
                        )
                    ).json()
            ids.append(case["id"])

    async with httpx.AsyncClient(base_url=ifr_url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(WORKERS)))
    return ids


async def main(cases: int) -> None:
    async with infrastructure() as stack:
        ifr_port = stack.layout.ports.services["ifr"]
        with (
            stack.served("ifr", database="ifr_console_bench", port=ifr_port) as ifr_url,
            stack.served_console(database="console_bench", LOG_LEVEL="WARNING") as console_url,
        ):
            clinician = stack.auth("RRV", "clinician")
            t0 = time.perf_counter()
            ids = await seed(ifr_url, clinician, stack.auth("X24", "ifr_officer"), cases)
            print(f"seeded {len(ids)} cases in {time.perf_counter() - t0:.0f} s")
            # the officer's own token from the provider, as the console holds it (taken after the seeding:
            # it lives 15 minutes)
            officer = {"Authorization": f"Bearer {stack.oidc.persona_token('ifr-officer')}"}
            cookies = signed_in_console(console_url, "ifr-officer")
            sample = random.Random(7).sample(ids, 200)
            picks = iter(sample * 3)
            async with (
                httpx.AsyncClient(base_url=ifr_url, timeout=30) as api,
                httpx.AsyncClient(base_url=console_url, cookies=cookies, timeout=30) as console,
            ):
                worklist_query = {"stage": "screening", "sort": "next_due", "limit": 50}
                for _ in range(20):  # warm both: pools, caches, the provider's keys
                    await api.get("/api/v1/ifr/requests", params=worklist_query, headers=officer)
                    await console.get("/ifr/requests", params={"stage": "screening"})
                summary_query = {"stage": "screening"}

                async def both_calls() -> httpx.Response:  # what the page asks, side by side as it does
                    listed, _ = await asyncio.gather(
                        api.get("/api/v1/ifr/requests", params=worklist_query, headers=officer),
                        api.get("/api/v1/ifr/requests/summary", params=summary_query, headers=officer),
                    )
                    return listed

                rows = [
                    await timed(
                        "API  GET /ifr/requests (screening, 50)",
                        200,
                        lambda: api.get("/api/v1/ifr/requests", params=worklist_query, headers=officer),
                    ),
                    await timed(
                        "API  GET /ifr/requests/summary (screening)",
                        200,
                        lambda: api.get("/api/v1/ifr/requests/summary", params=summary_query, headers=officer),
                    ),
                    await timed("API  both, side by side (the page's calls)", 200, both_calls),
                    await timed(
                        "page /ifr/requests?stage=screening",
                        200,
                        lambda: console.get("/ifr/requests", params={"stage": "screening"}),
                    ),
                    await timed(
                        "API  GET /ifr/requests/{id}",
                        200,
                        lambda: api.get(f"/api/v1/ifr/requests/{next(picks)}", headers=officer),
                    ),
                    await timed("page /ifr/requests/{id}", 200, lambda: console.get(f"/ifr/requests/{next(picks)}")),
                ]
    table = [r.row() for r in rows]
    print_table(f"web console pages, {cases} IFR cases (loopback, one client)", table)
    api_list, _, api_both, page_list, _, page_case = (r.row()["p95_ms"] for r in rows)
    ratio, ratio_both = float(page_list) / float(api_list), float(page_list) / float(api_both)
    print(
        f"\nworklist page p95 {page_list} ms (target <= {TARGET_MS}): {ratio:.2f}x the list call's p95,"
        f" {ratio_both:.2f}x the page's two calls side by side (target <= 1.5x)"
    )
    figure("console worklist page p95", float(page_list), "ms", baseline=float(api_list), at_most=TARGET_MS)
    figure("console case page p95", float(page_case), "ms", at_most=TARGET_MS)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
