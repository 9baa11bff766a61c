"""The web console's national CDF approvals page over 100,000 applications, beside the API call it wraps.

cdf-service and the console run as deployed (their own processes) against the benchmark's PostgreSQL,
broker and OpenID provider. The seed national list and a confirmed clinician at each of five trusts are
made through the API; the applications themselves are written straight into cdf-service's database in
one INSERT ... SELECT (deciding 100,000 applications through the API is bench/cdf_applications.py's
subject, and would take most of an hour here): every list entry, the five trusts, statuses in the mix a
year of the fund has (mostly approved or on treatment, some rejected, stopped, lapsed, withdrawn), made
over the last year. A CDF manager signs in through the provider and the script times, on loopback with
keep-alive, one client, 200 requests each:
- the approvals page's first page (50 rows, every trust) against `GET /api/v1/cdf/applications?limit=50`
  with the manager's own token (what the page calls);
- the page filtered to one trust and status, against the same filtered call;
- the page's next page (the API's cursor), against the API call with that cursor.
Loopback latency is the server's time plus well under a millisecond.

    .venv/bin/python -m bench.console_cdf_approvals [applications]
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
from sqlalchemy import text

from bench.console_common import signed_in_console, timed
from bench.harness import figure, infrastructure, print_table
from casework.db import create_engine
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.testing import TestStack

TARGET_MS = 150
TRUSTS = ("RRV", "RJ1", "RGT", "RTH", "RM1")
DATABASE = "cdf_console_bench"

# statuses by the application's number mod 20: 11 approved, 4 on treatment, 2 rejected, 1 stopped,
# 1 lapsed, 1 withdrawn
STATUS = """CASE WHEN g % 20 < 11 THEN 'approved' WHEN g % 20 < 15 THEN 'treatment_started'
    WHEN g % 20 < 17 THEN 'rejected' WHEN g % 20 = 17 THEN 'treatment_stopped'
    WHEN g % 20 = 18 THEN 'lapsed' ELSE 'withdrawn' END"""
INSERT = f"""
WITH e AS (
    SELECT row_number() OVER (ORDER BY entry_id) - 1 AS k, * FROM list_entry_versions WHERE effective_to IS NULL
), c AS (
    SELECT row_number() OVER (ORDER BY trust_ods) - 1 AS k, * FROM clinicians
), n AS (SELECT (SELECT count(*) FROM e) AS entries, (SELECT count(*) FROM c) AS clinicians)
INSERT INTO applications (
    id, reference, provider_ods, patient_ref, nhs_number, date_of_birth, entry_id, entry_version, dmd_id,
    drug_name, drug_key, indication, clinician_id, clinician_gmc, clinician_email, answers, consent_confirmed,
    planned_start, lapse_window_days, lapse_due, expected_cost, cost_per_cycle, status, cycles_given, version,
    created_by, created_at
)
SELECT gen_random_uuid(), 'CDF-B' || lpad(g::text, 9, '0'), c.trust_ods, md5('bench' || g), '9434765919',
    DATE '1950-01-01' + (g % 15000), e.entry_id, e.version, e.dmd_id, e.drug_name, lower(trim(e.drug_name)),
    e.indication, c.id, c.gmc_number, c.email, '{{}}'::jsonb, true,
    CURRENT_DATE - (g % 365), e.lapse_window_days, CURRENT_DATE - (g % 365) + e.lapse_window_days,
    e.cost_per_cycle * e.expected_cycles, e.cost_per_cycle, {STATUS}, 0, 1, 'bench',
    now() - make_interval(secs => g * 315)
FROM generate_series(1, CAST(:count AS integer)) AS g
CROSS JOIN n
JOIN e ON e.k = g % n.entries
JOIN c ON c.k = (g / n.entries) % n.clinicians
"""


async def seed(cdf_url: str, stack: TestStack, count: int) -> None:
    manager = stack.auth("X24", "cdf_manager")
    async with httpx.AsyncClient(base_url=cdf_url, timeout=60) as client:
        loaded = await client.post(
            "/api/v1/cdf/list/import", content=SEED_LIST.read_bytes(), headers={**manager, "Content-Type": "text/csv"}
        )
        assert loaded.status_code == 200, loaded.text
        for i, trust in enumerate(TRUSTS):
            await _confirmed_clinician(client, stack, trust, f"{7000001 + i}")
    engine = create_engine(stack.database_url(DATABASE), 1)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(INSERT), {"count": count})
            await connection.execute(text("ANALYZE applications"))
    finally:
        await engine.dispose()


async def _confirmed_clinician(client: httpx.AsyncClient, stack: TestStack, trust: str, gmc: str) -> None:
    body = {
        "trust_ods": trust,
        "gmc_number": gmc,
        "name": f"Dr {trust} Oncologist",
        "email": f"oncologist.{trust.lower()}@nhs.net",
        "specialty": "medical oncology",
    }
    registered = await client.post("/api/v1/cdf/clinicians", json=body, headers=stack.auth(trust, "clinician"))
    assert registered.status_code == 201, registered.text
    confirmed = await client.post(
        f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
        headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text


async def measure(cdf_url: str, console_url: str, stack: TestStack) -> list[dict[str, Any]]:
    # the manager's own token from the provider, as the console holds it
    manager = {"Authorization": f"Bearer {stack.oidc.persona_token('cdf-manager')}"}
    cookies = signed_in_console(console_url, "cdf-manager")
    one_trust = {"provider": "RJ1", "status": "approved"}
    async with (
        httpx.AsyncClient(base_url=cdf_url, timeout=30) as api,
        httpx.AsyncClient(base_url=console_url, cookies=cookies, timeout=30) as console,
    ):
        first = (await api.get("/api/v1/cdf/applications", params={"limit": 50}, headers=manager)).json()
        later = {"cursor": first["next_cursor"]}
        for _ in range(20):  # warm both: pools, caches, the provider's keys
            await api.get("/api/v1/cdf/applications", params={"limit": 50}, headers=manager)
            await console.get("/cdf/approvals")

        def api_call(params: dict[str, str]) -> Any:
            return lambda: api.get("/api/v1/cdf/applications", params={**params, "limit": 50}, headers=manager)

        def page(params: dict[str, str]) -> Any:
            return lambda: console.get("/cdf/approvals", params=params)

        rows = [
            await timed("API  GET /cdf/applications (50, every trust)", 200, api_call({})),
            await timed("page /cdf/approvals", 200, page({})),
            await timed("API  GET /cdf/applications?provider=RJ1&status=approved", 200, api_call(one_trust)),
            await timed("page /cdf/approvals?provider=RJ1&status=approved", 200, page(one_trust)),
            await timed("API  GET /cdf/applications?cursor= (page 2)", 200, api_call(later)),
            await timed("page /cdf/approvals?cursor= (page 2)", 200, page(later)),
        ]
    return [r.row() for r in rows]


async def main(count: int) -> None:
    async with infrastructure() as stack:
        cdf_port = stack.layout.ports.services["cdf"]
        with (
            stack.served("cdf", database=DATABASE, port=cdf_port) as cdf_url,
            stack.served_console(database="console_cdf_bench", LOG_LEVEL="WARNING") as console_url,
        ):
            t0 = time.perf_counter()
            await seed(cdf_url, stack, count)
            print(f"seeded {count} applications in {time.perf_counter() - t0:.0f} s")
            table = await measure(cdf_url, console_url, stack)
    print_table(f"web console national CDF approvals, {count} applications (loopback, one client)", table)
    for api_row, page_row in zip(table[0::2], table[1::2], strict=True):
        api_p95, page_p95 = float(api_row["p95_ms"]), float(page_row["p95_ms"])
        figure(f"console {page_row['name']} p95", page_p95, "ms", baseline=api_p95, at_most=TARGET_MS)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
