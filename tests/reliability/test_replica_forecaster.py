"""cdf-service's forecaster rounds, on two replicas at once, write each forecast once.

3,000 marks for 200 trust x entry pairs (each pair marked 15 times, in random order) are committed at
once while two replicas' forecasters poll every 0.2 s: a round takes up to 2,000 unlocked marks (FOR
UPDATE SKIP LOCKED), so the two rounds take marks of the same pairs side by side. A pair recomputed by
both is stored by both under its trust's lock, but `cdf.forecast.updated` goes out only when the months
differ from the stored ones, so each pair has one forecast row and one event. A marker pair marked
afterwards, and seen forecast, shows the forecasters kept running past the counts.
"""

from __future__ import annotations

from samples import prepare_cdf
from sqlalchemy import text

from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.testing import RunningService, TestStack, eventually

TRUSTS = ["RRV", "RJ1", "RGT", "RTH", "RM1", "RWE", "RYJ", "RAL", "RJZ", "RQM"]
MARKS_PER_PAIR = 15

_MARK = text(
    "INSERT INTO forecast_dirty (provider_ods, entry_id) "
    "SELECT t, e FROM unnest(CAST(:trusts AS text[])) t, unnest(CAST(:entries AS text[])) e, "
    "generate_series(1, :times) ORDER BY random()"
)
_FORECASTS = text("SELECT count(*) FROM forecasts WHERE provider_ods = ANY(:trusts)")
_EVENTS = text(
    "SELECT message_key, count(*) AS n FROM outbox_events WHERE event_type = 'cdf.forecast.updated' GROUP BY 1"
)
_LEFT = text("SELECT count(*) FROM forecast_dirty")


def entries() -> list[str]:
    import csv

    with SEED_LIST.open() as listing:
        return sorted({row["entry_id"] for row in csv.DictReader(listing)})


async def _scalar(svc: RunningService, statement, **params: object) -> int:  # type: ignore[no-untyped-def]
    async with svc.runtime.sessions() as session, session.begin():
        return int(await session.scalar(statement, params) or 0)


async def _mark(svc: RunningService, trusts: list[str], entries: list[str], times: int) -> None:
    async with svc.runtime.sessions() as session, session.begin():
        await session.execute(_MARK, {"trusts": trusts, "entries": entries, "times": times})


async def _events(svc: RunningService) -> dict[str, int]:
    async with svc.runtime.sessions() as session:
        return {r.message_key: r.n for r in await session.execute(_EVENTS)}


async def test_each_forecast_once_across_two_forecasters(stack: TestStack) -> None:
    database = "cdf_replica_forecaster"
    env = {"FORECAST_INTERVAL_S": "0.2", "FORECAST_ROUND_GAP_S": "0", "LAPSE_SWEEP_INTERVAL_S": "0"}
    listed = entries()
    pairs = len(TRUSTS) * len(listed)
    async with stack.service("cdf", database=database, run_workers=False, lapse_sweep_interval_s=0) as api:
        await prepare_cdf(api.client, stack)
        with stack.served_replicas("cdf", 2, database=database, **env):
            await _mark(api, TRUSTS, listed, MARKS_PER_PAIR)

            async def all_forecast() -> bool:
                return await _scalar(api, _FORECASTS, trusts=TRUSTS) == pairs and await _scalar(api, _LEFT) == 0

            await eventually(all_forecast, within=120, interval=0.2)
            await _mark(api, ["RXH"], listed[:1], 1)  # the marker pair
            await eventually(lambda: _marker_done(api), within=60)
            events = await _events(api)
    ours = {key: n for key, n in events.items() if key.split(":", 1)[0] in TRUSTS}
    assert len(ours) == pairs, f"{pairs - len(ours)} pairs without their event"
    doubled = {key: n for key, n in ours.items() if n != 1}
    assert not doubled, f"forecasts announced more than once: {list(doubled.items())[:5]}"
    print(f"replica forecaster: {pairs} pairs from {pairs * MARKS_PER_PAIR} marks, one forecast and one event each")


async def _marker_done(svc: RunningService) -> bool:
    return await _scalar(svc, _FORECASTS, trusts=["RXH"]) == 1
