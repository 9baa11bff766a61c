"""The forecaster's batched round: many trust x entry pairs in one transaction give exactly what
recomputing each pair alone gives (stored forecasts and cdf.forecast.updated events), publish nothing
when nothing changed, and take at most PAIRS_PER_ROUND pairs, the first in order."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from casework.runtime import ServiceRuntime
from cdf_service.synthetic.national import TrustPlan
from cdf_service.synthetic.populate import populate
from cdf_service.use_cases import forecaster
from cdf_service.use_cases.forecaster import forecast_round
from embedded_stack.testing import TestStack

pytestmark = pytest.mark.integration
DATABASE = "cdf_forecaster_rounds"
TRUSTS = ("RRV", "RGT", "RTH")
STORED = (
    "provider_ods, entry_id, financial_year, entry_version, as_of, basis, start_rate, actual_to_date, "
    "active_projection, pipeline, outturn, lower, upper, run_rate_outturn, months"
)


async def sql(runtime: ServiceRuntime, statement: str, **params: Any) -> list[Any]:
    async with runtime.unit_of_work() as uow:
        result = await uow.session.execute(text(statement), params)
        rows = [tuple(r) for r in result.all()] if result.returns_rows else []
        await uow.session.commit()
    return rows


async def mark(runtime: ServiceRuntime, pairs: list[tuple[str, str]]) -> None:
    await sql(
        runtime,
        "INSERT INTO forecast_dirty (provider_ods, entry_id) "
        "SELECT * FROM unnest(CAST(:p AS text[]), CAST(:e AS text[]))",
        p=[p for p, _ in pairs],
        e=[e for _, e in pairs],
    )


async def stored(runtime: ServiceRuntime) -> list[Any]:
    return await sql(runtime, f"SELECT {STORED} FROM forecasts ORDER BY provider_ods, entry_id")


async def events_after(runtime: ServiceRuntime, since: int) -> list[Any]:
    return await sql(
        runtime,
        "SELECT envelope->>'subject', envelope->'data' FROM outbox_events "
        "WHERE id > :since AND event_type = 'cdf.forecast.updated' ORDER BY id",
        since=since,
    )


async def last_event(runtime: ServiceRuntime) -> int:
    return (await sql(runtime, "SELECT coalesce(max(id), 0) FROM outbox_events"))[0][0]


@pytest.fixture(scope="module")
async def loaded(stack: TestStack) -> None:
    """Synthetic trusts through the public API (list, clinicians, approvals, SACT matched into starts,
    stops, cycles and lapses), and one running treatment withdrawn."""
    async with stack.service("cdf", database=DATABASE, listen=True, lapse_sweep_interval_s=0) as svc:
        plan = TrustPlan(cdf_patients=30, routine_patients=5)
        secret = stack.layout.secrets()["jwt_secret"]
        await asyncio.to_thread(populate, stack.layout.service_url("cdf"), secret, TRUSTS, plan, 5)
        running = await sql(
            svc.runtime, "SELECT id, provider_ods FROM applications WHERE status = 'treatment_started' LIMIT 1"
        )
        assert running, "the synthetic data should have a running treatment"
        app_id, trust = running[0]
        path = f"/api/v1/cdf/applications/{app_id}"
        got = await svc.client.get(path, headers=stack.auth(trust, "trust_cdf_lead"))
        withdrawn = await svc.client.post(
            f"{path}/withdraw",
            json={"reason": "patient moved away"},
            headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": got.headers["ETag"]},
        )
        assert withdrawn.status_code == 200, withdrawn.text


async def test_a_round_of_many_pairs_equals_each_pair_alone(stack: TestStack, loaded: None) -> None:
    today = date.today()
    async with stack.service("cdf", database=DATABASE, run_workers=False, forecast_min_history=3) as svc:
        runtime = svc.runtime
        await sql(runtime, "DELETE FROM forecast_dirty")
        pairs = [
            (p, e)
            for p, e in await sql(
                runtime, "SELECT DISTINCT provider_ods, entry_id FROM applications WHERE status <> 'rejected'"
            )
        ]
        pairs.sort()
        assert 10 <= len(pairs) <= forecaster.PAIRS_PER_ROUND

        # each pair alone, marked twice (a pair is often marked by several changes)
        await sql(runtime, "DELETE FROM forecasts")
        since = await last_event(runtime)
        for pair in pairs:
            await mark(runtime, [pair, pair])
            assert await forecast_round(runtime, today) == 1
        alone, alone_events = await stored(runtime), await events_after(runtime, since)

        # all of them (and a pair whose entry is not on the list) in one round, marked in another order
        await sql(runtime, "DELETE FROM forecasts")
        since = await last_event(runtime)
        shuffled = [*pairs, *pairs[:5], ("RRV", "CDF-NOT-LISTED")]
        random.Random(4).shuffle(shuffled)
        await mark(runtime, shuffled)
        assert await forecast_round(runtime, today) == len(pairs) + 1
        together, together_events = await stored(runtime), await events_after(runtime, since)
        assert await sql(runtime, "SELECT count(*) FROM forecast_dirty") == [(0,)]

        assert len(together) == len(pairs)  # nothing stored for the unlisted entry
        assert together == alone
        assert together_events == alone_events
        fy = together[0][2]
        assert [subject for subject, _ in together_events] == [f"{p}:{e}:{fy}" for p, e in pairs]  # in pair order
        assert {row[5] for row in together} == {"kaplan_meier", "expected_duration"}  # both bases covered
        assert any(row[11] != row[12] for row in together)  # some band, so the variance part is covered
        withdrawn = await sql(runtime, "SELECT provider_ods, entry_id FROM applications WHERE status = 'withdrawn'")
        assert set(withdrawn) & set(pairs)

        # unchanged: stored again, nothing published
        since = await last_event(runtime)
        await mark(runtime, pairs)
        assert await forecast_round(runtime, today) == len(pairs)
        assert await stored(runtime) == together
        assert await events_after(runtime, since) == []

        # one pair changed among unchanged ones: only its event, with the new months
        changed = pairs[len(pairs) // 2]
        await sql(
            runtime,
            "UPDATE forecasts SET months = '[]'::jsonb WHERE provider_ods = :p AND entry_id = :e",
            p=changed[0],
            e=changed[1],
        )
        await mark(runtime, pairs)
        assert await forecast_round(runtime, today) == len(pairs)
        events = await events_after(runtime, since)
        assert [subject for subject, _ in events] == [f"{changed[0]}:{changed[1]}:{fy}"]
        assert events[0][1] == dict(alone_events)[events[0][0]]
        assert await stored(runtime) == together


async def test_a_round_takes_the_first_pairs_and_leaves_the_rest(
    stack: TestStack, loaded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forecaster, "PAIRS_PER_ROUND", 2)
    async with stack.service("cdf", database=DATABASE, run_workers=False) as svc:
        runtime = svc.runtime
        await sql(runtime, "DELETE FROM forecast_dirty")
        await sql(runtime, "DELETE FROM forecasts")
        pairs = sorted(
            await sql(runtime, "SELECT DISTINCT provider_ods, entry_id FROM applications WHERE status <> 'rejected'")
        )[:5]
        await mark(runtime, [*reversed(pairs), *pairs])
        assert await forecast_round(runtime) == 2
        assert sorted(r[:2] for r in await stored(runtime)) == pairs[:2]
        left = await sql(runtime, "SELECT provider_ods, entry_id FROM forecast_dirty ORDER BY id")
        assert sorted(set(left)) == pairs[2:] and len(left) == 6  # both marks of each pair not taken
        assert await forecast_round(runtime) == 2
        assert await forecast_round(runtime) == 1
        assert sorted(r[:2] for r in await stored(runtime)) == pairs
        assert await forecast_round(runtime) == 0
