"""cdf-service's SACT worker hands a submission to one replica at a time, and a replica that dies (or
stalls) mid-file hands it over after the lease without a row written twice (cdf_service.sact.worker).

A trust's file is uploaded slowly, in 32 KiB pieces, through an API process that runs no worker, while
two replicas' workers look for work. One claims it (the claim names its process and gets a new token)
and writes pieces as they arrive. Then:

- it is SIGKILLed: after SACT_STALE_AFTER_S the other claims the file, resumes after the last piece
  committed and finishes it;
- it is SIGSTOPped (a paused VM, a long GC, a partition from the database): the other takes it over
  the same way; when the first resumes, its next write names a token that is no longer the
  submission's, so it writes nothing more and stops.

Either way every row of the file is in `sact_rows` once (rows = distinct row numbers = the file's data
rows) and `cdf.sact_submission.processed` is in the outbox once.
"""

from __future__ import annotations

import asyncio
import io
import random
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from cdf_service.synthetic.national import TrustPlan, build_trust
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import Replica, RunningService, TestStack, eventually

TRUST = "RGT"
PIECE = 32 * 1024
STALE_S = 3.0
REPLICA_ENV = {
    "SACT_CHUNK_BYTES": str(PIECE),
    "SACT_INLINE_MAX_BYTES": str(PIECE),
    "SACT_VALIDATION_PROCESSES": "0",  # a thread: two replicas on two cores
    "SACT_STALE_AFTER_S": str(STALE_S),
    "SACT_POLL_INTERVAL_S": "0.5",
    "LAPSE_SWEEP_INTERVAL_S": "0",
    "FORECAST_INTERVAL_S": "60",
}
_SUBMISSION = text(
    "SELECT id, status, chunks_done, chunks_total, rows_total, rows_accepted, rows_rejected, claimed_by, error "
    "FROM sact_submissions WHERE provider_ods = :trust AND submission_ref = :ref"
)
_ROWS = text("SELECT count(*) AS n, count(DISTINCT row_no) AS distinct_rows FROM sact_rows WHERE submission_id = :sid")
_PROBLEMS = text(
    "SELECT count(*) AS n, count(DISTINCT row_no) AS distinct_rows FROM sact_problems WHERE submission_id = :sid"
)
_PROCESSED = text(
    "SELECT count(*) FROM outbox_events "
    "WHERE event_type = 'cdf.sact_submission.processed' AND envelope->>'subject' = :sid"
)


def sact_file(seed: int) -> tuple[bytes, int]:
    rng = random.Random(seed)
    plan = TrustPlan(cdf_patients=10, routine_patients=900)
    buffer = io.StringIO()
    written, _ = write_sact_csv(buffer, build_trust(TRUST, plan, rng).courses, plan.as_of, rng)
    return buffer.getvalue().encode(), written


async def slowly(data: bytes, pause_s: float) -> AsyncIterator[bytes]:
    for start in range(0, len(data), PIECE):
        yield data[start : start + PIECE]
        await asyncio.sleep(pause_s)


async def submission(api: RunningService, ref: str) -> Any:
    async with api.runtime.sessions() as session:
        return (await session.execute(_SUBMISSION, {"trust": TRUST, "ref": ref})).first()


def holder(replicas: list[Replica], claimed_by: str | None) -> Replica | None:
    pid = (claimed_by or "").rsplit(":", 1)[-1]
    return next((r for r in replicas if str(r.process.pid) == pid), None)


async def upload_and_hand_over(stack: TestStack, database: str, ref: str, interrupt: str) -> dict[str, Any]:
    """Upload slowly to an API without a worker; interrupt the replica holding the file once it has written
    pieces of it; wait until the file is processed. What the database then holds about it."""
    data, written = sact_file(len(ref) + len(interrupt))
    api_settings = {"run_workers": False, "sact_chunk_bytes": PIECE, "sact_inline_max_bytes": PIECE}
    async with stack.service("cdf", database=database, **api_settings) as api:
        with stack.served_replicas("cdf", 2, database=database, **REPLICA_ENV) as replicas:
            params = {"provider_ods": TRUST, "period": "2026-10", "submission_id": ref}
            headers = {**stack.auth(TRUST, "provider_system"), "Content-Type": "text/csv"}
            upload = asyncio.create_task(
                api.client.post(
                    "/api/v1/sact/submissions", params=params, content=slowly(data, 0.08), headers=headers, timeout=120
                )
            )

            async def first_pieces_written() -> Any:
                row = await submission(api, ref)
                return row if row is not None and row.chunks_done >= 2 and row.status == "processing" else None

            row = await eventually(first_pieces_written, within=60)
            first = holder(replicas, row.claimed_by)
            assert first is not None, row.claimed_by
            other = next(r for r in replicas if r is not first)
            done_when_interrupted, took_over_after = row.chunks_done, None
            try:
                if interrupt == "kill":
                    first.kill()
                else:
                    first.process.send_signal(signal.SIGSTOP)
                    started = time.monotonic()

                    async def taken_over() -> bool:
                        return holder(replicas, (await submission(api, ref)).claimed_by) is other

                    await eventually(taken_over, within=STALE_S + 30)
                    took_over_after = time.monotonic() - started
                    first.process.send_signal(signal.SIGCONT)  # it goes on from where it was
                accepted = await upload
                assert accepted.status_code == 202, accepted.text

                async def processed() -> Any:
                    row = await submission(api, ref)
                    assert row.status != "failed", row.error
                    return row if row.status == "processed" else None

                done = await eventually(processed, within=120, interval=0.2)
                if interrupt == "stop":  # the first, resumed, noticed it had lost the file and wrote nothing
                    lost = "taken over by another worker"
                    await eventually(lambda: lost in first.log.read_text(errors="replace"), within=30)
            finally:
                if first.alive:
                    first.process.send_signal(signal.SIGCONT)
            async with api.runtime.sessions() as session:
                rows = (await session.execute(_ROWS, {"sid": done.id})).first()
                problems = (await session.execute(_PROBLEMS, {"sid": done.id})).first()
                events = await session.scalar(_PROCESSED, {"sid": str(done.id)})
        return {
            "written": written,
            "done": done,
            "rows": rows,
            "problems": problems,
            "events": events,
            "finished_by": holder(replicas, done.claimed_by),
            "other": other,
            "pieces_before": done_when_interrupted,
            "took_over_after": took_over_after,
        }


@pytest.mark.parametrize("interrupt", ["kill", "stop"])
async def test_a_sact_file_is_handed_over_and_written_once(stack: TestStack, interrupt: str) -> None:
    seen = await upload_and_hand_over(stack, f"cdf_replica_sact_{interrupt}", f"REPLICA-{interrupt}", interrupt)
    done, rows = seen["done"], seen["rows"]
    assert seen["finished_by"] is seen["other"]  # the replica that was not interrupted finished it
    assert 0 < seen["pieces_before"] < done.chunks_total  # handed over mid-file
    assert done.chunks_done == done.chunks_total
    assert done.rows_total == seen["written"]
    assert rows.n == rows.distinct_rows == done.rows_accepted == seen["written"] - done.rows_rejected  # each once
    problems = seen["problems"]  # the rows refused (the synthetic file has a few), each reported once
    assert problems.n == problems.distinct_rows == done.rows_rejected
    assert seen["events"] == 1
    print(
        f"sact hand-over ({interrupt}): {seen['written']} rows in {done.chunks_total} pieces, "
        f"{seen['pieces_before']} written before, {rows.n} rows stored once, {problems.n} refused once, "
        f"took over after "
        f"{seen['took_over_after'] or 0:.1f} s"
    )
