"""What the contract forecast benchmark needs around it: services in their own processes, a watch on
contract-service's forecast commits, and the providers, list entries and approvals it runs over."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

import asyncpg
import httpx

from casework.services import load_definition
from cdf_service.domain.national_list import EntryStatus, ListEntry
from cdf_service.synthetic.national import Course, application_for, seed_entries
from cdf_service.synthetic.people import gmc_number, nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.testing import TestStack

FY = "2026/27"


@dataclass
class ServiceProcess:
    client: httpx.AsyncClient
    database_url: str
    pid: int


def _serve(stack: TestStack, name: str, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    full = {**os.environ, **stack.layout.service_env(name), "LOG_LEVEL": "ERROR", **env}
    return subprocess.Popen([sys.executable, "-m", "casework", "serve", name], env=full, stdout=log, stderr=log)


@asynccontextmanager
async def service_process(stack: TestStack, name: str, **settings: str) -> AsyncIterator[ServiceProcess]:
    """A service in its own process, as deployed (`casework serve <name>`), on the stack; `settings`
    are extra environment variables (UPPER_NAME=value)."""
    database_url = stack.migrate(load_definition(name))
    log = (stack.layout.root / f"{name}-bench.log").open("ab")
    process = _serve(stack, name, {"DATABASE_URL": database_url, **settings}, log)
    try:
        async with httpx.AsyncClient(base_url=stack.layout.service_url(name), timeout=30) as client:
            for _ in range(300):
                if process.poll() is not None:
                    raise RuntimeError(f"{name}-service exited; see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            yield ServiceProcess(client, database_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


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


@asynccontextmanager
async def forecast_commits(database_url: str, on_commit: Callable[[str, str, int], None]) -> AsyncIterator[None]:
    """Calls `on_commit(provider, entry, outturn)` when contract-service commits a forecast.

    PostgreSQL delivers a NOTIFY when the transaction that raised it commits: the moment the new
    forecast becomes what GET /forecast-outturn reads. The trigger exists only in the bench's database.
    """
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await conn.execute(NOTIFY_SQL)

    def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        provider, entry, outturn = payload.split("|")
        on_commit(provider, entry, int(outturn))

    await conn.add_listener("bench_forecast", notified)
    try:
        yield
    finally:
        await conn.close()


async def contracts_with_cdf_lines(stack: TestStack, contract: ServiceProcess, providers: list[str]) -> None:
    """Providers with a contract and a CDF line, so each forecast runs the full at-risk evaluation."""
    headers = stack.auth("X24", "contract_manager")
    terms = {
        "schedules": [{"hub": "NW", "hub_name": "North West"}],
        "service_lines": [
            {"code": "S1", "hub": "NW", "description": "service", "price": "100.00", "activity_plan": ["1"] * 12}
        ],
    }
    for ods in providers:
        created = await contract.client.post(
            "/api/v1/contracts",
            json={"provider_ods": ods, "financial_year": FY, "title": "bench", "terms": terms},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        line = await contract.client.post(
            f"/api/v1/contracts/{created.json()['id']}/budget-lines",
            json={"kind": "cdf", "category": "cdf", "line_name": "CDF drugs", "budget": "5000000"},
            headers=headers,
        )
        assert line.status_code == 201, line.text


def open_entries(today: date, count: int) -> list[ListEntry]:
    live = [
        e
        for e in seed_entries().values()
        if e.status == EntryStatus.OPEN and (e.managed_access_end is None or e.managed_access_end > today)
    ]
    return sorted(live, key=lambda e: e.entry_id)[:count]


async def approvals_to_start(
    stack: TestStack, cdf: ServiceProcess, trusts: list[str], entries: list[ListEntry], count: int
) -> list[Course]:
    """The national list, a confirmed clinician per trust and `count` approvals planned for today,
    rotating over trust x entry (trust-major); each returned course starts (first cycle) yesterday."""
    rng = random.Random(7)
    today = date.today()
    loaded = await cdf.client.post(
        "/api/v1/cdf/list/import",
        content=SEED_LIST.read_bytes(),
        headers={**stack.auth("X24", "cdf_manager"), "Content-Type": "text/csv"},
    )
    assert loaded.status_code == 200, loaded.text
    gmc = {trust: await _confirmed_clinician(stack, cdf, trust, rng) for trust in trusts}
    pairs = [(t, e) for t in trusts for e in entries]  # trust-major: consecutive starts share a trust
    courses = []
    for i in range(count):
        trust, entry = pairs[i % len(pairs)]
        courses.append(_starting_course(trust, entry, gmc[trust], nhs_number_for(10_000 + i), today))
    by_id = {e.entry_id: e for e in entries}
    limit = asyncio.Semaphore(6)

    async def apply(course: Course) -> None:
        async with limit:
            made = await cdf.client.post(
                "/api/v1/cdf/applications",
                json=application_for(course, by_id[course.entry_id]),  # type: ignore[index]
                headers=stack.auth(course.trust, "clinician"),
            )
        assert made.status_code == 201 and made.json()["status"] == "approved", made.text

    await asyncio.gather(*(apply(c) for c in courses))
    return courses


def _starting_course(trust: str, entry: ListEntry, gmc: str, nhs_number: str, today: date) -> Course:
    return Course(
        trust=trust,
        nhs_number=nhs_number,
        born=date(1960, 1, 1),
        sex="2",
        gmc=gmc,
        diagnosis="C34.9",
        drugs=(entry.drug_name,),
        cycle_days=entry.cycle_length_days,
        cycles=entry.expected_cycles,
        regimen_start=today - timedelta(days=1),
        entry_id=entry.entry_id,
        approved=True,
        planned_start=today,
    )


async def _confirmed_clinician(stack: TestStack, cdf: ServiceProcess, trust: str, rng: random.Random) -> str:
    gmc = gmc_number(rng)
    registered = await cdf.client.post(
        "/api/v1/cdf/clinicians",
        json={"trust_ods": trust, "gmc_number": gmc, "name": f"Dr {gmc}", "email": f"dr.{gmc}@nhs.net"},
        headers=stack.auth(trust, "clinician"),
    )
    assert registered.status_code == 201, registered.text
    confirmed = await cdf.client.post(
        f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
        headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text
    return gmc


def sact_csv(courses: list[Course]) -> bytes:
    """The courses' SACT rows up to today: each one's first administration (a treatment start)."""
    buffer = io.StringIO()
    write_sact_csv(buffer, courses, date.today(), random.Random(1))
    return buffer.getvalue().encode()
