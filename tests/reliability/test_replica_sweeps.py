"""Periodic sweeps take effect once across replicas: two ifr-service replicas sweeping deadlines and two
cdf-service replicas sweeping lapses, every 0.1 s each, over the same database.

The work is made due at one moment (one transaction moves the due dates of every clock, or the planned
starts of every approval, into the past), so both replicas' next rounds find all of it together. Each
alert (clock x alert) and each lapse is then in the outbox once: the IFR sweep claims `(clock_id,
alert)` in `ifr_deadline_alerts` in the event's transaction (a second claim waits for the first and
finds it taken), the CDF sweep locks the approvals `FOR UPDATE SKIP LOCKED` and moves them out of
`approved`. A marker made due afterwards, and seen swept, shows the sweeps kept running past the
counts.
"""

from __future__ import annotations

import uuid
from datetime import date

from ifr_http import Ifr
from samples import APPLICATION, prepare_cdf
from sqlalchemy import text

from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.testing import RunningService, TestStack, eventually

CASES = APPROVALS = 40
SWEEP_EVERY = "0.1"

_SHIFT_CLOCKS = text(
    "UPDATE ifr_clocks SET due_date = due_date - 100 WHERE request_id = ANY(CAST(:ids AS uuid[])) "
    "AND stopped_on IS NULL AND NOT cancelled AND paused_since IS NULL AND clock <> 'review_window' RETURNING id"
)
_ALERTS = text(
    "SELECT envelope->>'type' AS type, envelope->'data'->>'clock' AS clock, message_key, count(*) AS n "
    "FROM outbox_events WHERE event_type LIKE 'ifr.request.deadline_%' AND message_key = ANY(:ids) GROUP BY 1, 2, 3"
)
_SHIFT_APPROVALS = text(
    "UPDATE applications SET planned_start = planned_start - 100, lapse_due = lapse_due - 100 "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'approved' RETURNING id"
)
_LAPSES = text(
    "SELECT message_key, count(*) AS n FROM outbox_events "
    "WHERE event_type = 'cdf.approval.lapsed' AND message_key = ANY(:ids) GROUP BY 1"
)
_LAPSE_AUDITS = text("SELECT count(*) FROM audit_events WHERE action = 'lapse' AND entity_id = ANY(:ids)")


async def _execute(svc: RunningService, statement: text, **params: object) -> list:  # type: ignore[type-arg]
    async with svc.runtime.sessions() as session, session.begin():
        return list((await session.execute(statement, params)).all())


async def _breached(svc: RunningService, ids: list[str]) -> dict[tuple[str, str], int]:
    rows = await _execute(svc, _ALERTS, ids=ids)
    return {(r.message_key, r.clock): r.n for r in rows if r.type == "ifr.request.deadline_breached"}


async def test_deadline_alerts_once_across_two_ifr_replicas(stack: TestStack) -> None:
    database = "ifr_replica_sweeps"
    env = {"DEADLINE_SWEEP_INTERVAL_S": SWEEP_EVERY}
    async with stack.service("ifr", database=database, run_workers=False) as api:
        ifr = Ifr(api.client, stack)
        with stack.served_replicas("ifr", 2, database=database, **env):
            cases = [str((await ifr.submitted())["id"]) for _ in range(CASES)]
            clocks = await _execute(api, _SHIFT_CLOCKS, ids=cases)  # all overdue at one moment
            assert len(clocks) >= 3 * CASES

            async def all_breached() -> dict[tuple[str, str], int]:
                found = await _breached(api, cases)
                return found if len(found) == len(clocks) else {}

            await eventually(all_breached, within=60)
            marker = str((await ifr.submitted())["id"])
            marker_clocks = await _execute(api, _SHIFT_CLOCKS, ids=[marker])
            await eventually(lambda: _has(_breached(api, [marker]), len(marker_clocks)), within=60)
            alerts = await _execute(api, _ALERTS, ids=cases)
    doubled = [(r.type, r.message_key, r.clock, r.n) for r in alerts if r.n != 1]
    assert not doubled, f"alerts raised more than once: {doubled[:5]}"
    breached = sum(1 for r in alerts if r.type == "ifr.request.deadline_breached")
    assert breached == len(clocks)
    print(f"replica sweeps (ifr): {len(alerts)} alerts over {CASES} cases ({breached} breached), each once")


async def _has(counting, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await counting) == expected


async def _approve(svc: RunningService, stack: TestStack, n: int) -> str:
    body = {**APPLICATION, "nhs_number": nhs_number_for(n), "planned_start": str(date.today())}
    created = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth("RRV", "clinician"))
    assert created.status_code == 201 and created.json()["status"] == "approved", created.text
    return str(created.json()["id"])


async def _lapsed(svc: RunningService, ids: list[str]) -> dict[str, int]:
    return {r.message_key: r.n for r in await _execute(svc, _LAPSES, ids=ids)}


async def test_lapses_once_across_two_cdf_replicas(stack: TestStack) -> None:
    database = "cdf_replica_sweeps"
    env = {"LAPSE_SWEEP_INTERVAL_S": SWEEP_EVERY, "FORECAST_INTERVAL_S": "60"}
    first = 55_000 + (uuid.uuid4().int % 1000) * (APPROVALS + 1)  # patients of this run
    async with stack.service("cdf", database=database, run_workers=False, lapse_sweep_interval_s=0) as api:
        await prepare_cdf(api.client, stack)
        with stack.served_replicas("cdf", 2, database=database, **env):
            approvals = [await _approve(api, stack, first + n) for n in range(APPROVALS)]
            shifted = await _execute(api, _SHIFT_APPROVALS, ids=approvals)  # all overdue at one moment
            assert len(shifted) == APPROVALS

            async def all_lapsed() -> dict[str, int]:
                found = await _lapsed(api, approvals)
                return found if len(found) == APPROVALS else {}

            await eventually(all_lapsed, within=60)
            marker = await _approve(api, stack, first + APPROVALS)
            await _execute(api, _SHIFT_APPROVALS, ids=[marker])
            await eventually(lambda: _has(_lapsed(api, [marker]), 1), within=60)
            lapses = await _lapsed(api, approvals)
            audits = (await _execute(api, _LAPSE_AUDITS, ids=approvals))[0][0]
    assert sorted(lapses) == sorted(approvals) and set(lapses.values()) == {1}, lapses
    assert audits == APPROVALS
    print(f"replica sweeps (cdf): {APPROVALS} approvals lapsed, each once ({audits} audit rows)")
