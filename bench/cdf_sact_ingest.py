"""SACT ingest of a ~1,000,000-row SACT v4.0 CSV: the service vs a plain PostgreSQL COPY of the same file.

The file is generated (seeded synthetic trust, with injected bad rows) on disk, in SACT v4.0 (or v3.0
with --sact-version 3). Baseline: asyncpg `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the file into a
table of one text column per item of the file's version on the same server. Service: `casework serve
cdf` under uvicorn in its own process; the file is streamed to POST /api/v1/sact/submissions and the
clock stops when GET /sact/submissions/{id} says `processed`
(upload, validation, COPY of accepted rows, duplicate rejection, matching to the trust's approvals,
lapses, events), after a small warm-up file has started the service's validation process. Peak RSS is
the service process's VmHWM from /proc (whole life of the process), its child processes listed apart.

    .venv/bin/python bench/cdf_sact_ingest.py [--rows 1000000] [--sact-version 4]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdf_common import Auth, CpuMeter, cdf_service, children, peak_rss_mb, seed
from bench.harness import figure, infrastructure, print_table
from cdf_service.sact_schema import SactSchema, schema_for
from cdf_service.synthetic.national import TrustPlan, build_trust
from cdf_service.synthetic.sact_files import Injected, bad_kinds, write_sact_csv
from embedded_stack.testing import TestStack

TRUST = "RRV"
BAD_PER_KIND = 5  # of each kind of bad row the version allows: bad NHS number, unknown drug, given before
# the regimen started (v4.0; stop before start in v3.0), duplicate cycle
ROWS_PER_COURSE = 7.36  # SACT v4.0 rows per synthetic course (packs of an oral drug take one row)


def generate(
    path: Path, rows: int, schema: SactSchema
) -> tuple[int, list[Injected], list[dict[str, str]], list[dict[str, object]]]:
    rng = random.Random(2026)
    cdf = max(rows // 500, 20)  # about 2% of the courses are CDF (as in a real trust's SACT file)
    plan = TrustPlan(cdf_patients=cdf, routine_patients=int(rows / ROWS_PER_COURSE) - cdf)
    synthetic = build_trust(TRUST, plan, rng)
    bad = dict.fromkeys(bad_kinds(schema), BAD_PER_KIND)
    with path.open("w", encoding="utf-8", newline="") as handle:
        written, injected = write_sact_csv(handle, synthetic.courses, plan.as_of, rng, bad, schema)
    people = [{"trust": c.trust, "gmc": c.gmc, "name": c.name, "email": c.email} for c in synthetic.clinicians]
    return written, injected, people, synthetic.applications()


async def plain_copy(stack: TestStack, path: Path, schema: SactSchema) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from casework.migrations import ensure_database_sync

    url = stack.database_url("copybench")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(ensure_database_sync, url).result()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        columns = ", ".join(f'"{name.lower()}" text' for name in schema.headers)
        await conn.execute(f"DROP TABLE IF EXISTS sact_copy; CREATE TABLE sact_copy ({columns})")
        started = time.perf_counter()
        await conn.copy_to_table("sact_copy", source=path, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


async def warm_up(base: str, auth: Auth, folder: Path, schema: SactSchema) -> None:
    """A small file from another trust first, as a running service would have had: its validation process
    is started, and the measured trust's approvals are untouched."""
    rng = random.Random(1)
    plan = TrustPlan(cdf_patients=0, routine_patients=200)
    small = folder / "warm-up.csv"
    with small.open("w", encoding="utf-8", newline="") as handle:
        write_sact_csv(handle, build_trust("RGT", plan, rng).courses, plan.as_of, rng, schema=schema)
    await ingest(base, auth, small, trust="RGT")


async def ingest(base: str, auth: Auth, path: Path, trust: str = TRUST) -> tuple[float, dict[str, object], float]:
    headers = {**auth(trust, "provider_system"), "Content-Type": "text/csv"}
    params = {"provider_ods": trust, "period": "2026-10", "submission_id": f"bench-{time.time_ns()}"}
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=600) as client:
        started = time.perf_counter()
        posted = await client.post("/sact/submissions", params=params, content=file_chunks(path), headers=headers)
        posted.raise_for_status()
        uploaded = time.perf_counter() - started
        while True:
            status = (await client.get(f"/sact/submissions/{posted.json()['id']}", headers=headers)).json()
            if status["status"] in ("processed", "failed"):
                return time.perf_counter() - started, status, uploaded
            await asyncio.sleep(0.25)


async def report(base: str, auth: Auth, submission_id: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    cursor = None
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as client:
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = (
                await client.get(
                    f"/sact/submissions/{submission_id}/report", params=params, headers=auth("X24", "cdf_manager")
                )
            ).json()
            found += [(p["row"], p["field"]) for p in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                return found


async def approve(base: str, auth: Auth, applications: list[dict[str, object]]) -> None:
    headers = auth(TRUST, "clinician")
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as client:
        queue = list(applications)

        async def worker() -> None:
            while queue:
                body = queue.pop()
                (await client.post("/cdf/applications", json=body, headers=headers)).raise_for_status()

        await asyncio.gather(*(worker() for _ in range(8)))


def _profile(pid: int, output: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy on the service while it ingests (optional: --profile FILE, raw collapsed stacks)."""
    if output is None:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-r", "100", "-f", "raw", "-o", output, "--nonblocking"]
    )


async def main(rows: int, profile: str | None, processes: int, schema: SactSchema) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sact-bench-"))
    path = folder / "sact.csv"
    started = time.perf_counter()
    written, injected, people, applications = generate(path, rows, schema)
    size_mb = path.stat().st_size / 1e6
    took = time.perf_counter() - started
    print(f"generated {written:,} {schema.title} rows ({size_mb:.0f} MB) in {took:.0f} s; {len(injected)} bad rows")
    async with infrastructure() as stack:
        copy_before = await plain_copy(stack, path, schema)
        auth = Auth(stack)
        with cdf_service(stack, SACT_VALIDATION_PROCESSES=str(processes)) as (base, proc):
            seed(base, auth, people)
            await approve(base, auth, applications)
            await warm_up(base, auth, folder, schema)
            spy = _profile(proc.pid, profile)
            meter = CpuMeter(stack, proc.pid)
            meter.start()
            service_s, status, upload_s = await ingest(base, auth, path)
            cpu = meter.stop()
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
                spy.wait()
            rss = peak_rss_mb(proc.pid)
            child_rss = {child: peak_rss_mb(child) for child in children(proc.pid)}
            problems = await report(base, auth, str(status["id"]))
        copy_after = await plain_copy(stack, path, schema)  # the machine is shared: the baseline before and after
    shutil.rmtree(folder, ignore_errors=True)  # the generated file: a quarter of a gigabyte
    copy_s = (copy_before + copy_after) / 2
    assert status["status"] == "processed", status
    exact = sorted(problems) == sorted((i.row, i.field) for i in injected)
    rows_table = [
        *(
            {
                "path": f"plain COPY ({len(schema.headers)} text columns), {when}",
                "rows": written,
                "seconds": round(t, 1),
                "rows_per_s": round(written / t),
            }
            for when, t in (("before", copy_before), ("after", copy_after))
        ),
        {
            "path": "cdf-service SACT ingest",
            "rows": written,
            "seconds": round(service_s, 1),
            "rows_per_s": round(written / service_s),
        },
    ]
    print_table(f"SACT ingest of {written:,} {schema.title} rows ({size_mb:.0f} MB)", rows_table)
    ratio = copy_s / service_s  # against the mean of the two COPY timings
    print(f"\nupload (streamed and stored) took {upload_s:.1f} s of the service's {service_s:.1f} s")
    print(f"approvals matched: {status['matched']}")
    print(
        f"CPU seconds during the ingest: service {cpu['server']:.1f}, its validation processes "
        f"{cpu['server_children']:.1f}, PostgreSQL {cpu['postgres']:.1f}, this client {cpu['client']:.1f} "
        f"(2 cores x {service_s:.1f} s = {2 * service_s:.1f})"
    )
    print(f"rows accepted {status['rows_accepted']:,}, rejected {status['rows_rejected']}")
    print(f"report lists exactly the {len(injected)} injected bad rows: {exact}")
    figure(
        "SACT ingest, validated, matched, reported",
        round(written / service_s),
        "rows/s",
        baseline=round(written / copy_s),
        ratio=ratio,
        at_least=0.40,
    )
    figure("SACT ingest service peak RSS (VmHWM)", round(rss), "MB", at_most=512)
    total = rss + sum(child_rss.values())
    each = ", ".join(f"{mb:.0f} MB" for mb in child_rss.values())
    print(f"its child processes (validation, resource tracker): {each}; all together {total:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profile", help="write py-spy raw stacks of the service here (needs py-spy)")
    parser.add_argument("--validation-processes", type=int, default=2, help="SACT_VALIDATION_PROCESSES")
    parser.add_argument("--sact-version", default="4", help="SACT version of the file: 4 (v4.0) or 3 (v3.0)")
    args = parser.parse_args()
    chosen = schema_for(args.sact_version)
    if chosen is None:
        parser.error(f"not a SACT version: {args.sact_version!r}")
    asyncio.run(main(args.rows, args.profile, args.validation_processes, chosen))
