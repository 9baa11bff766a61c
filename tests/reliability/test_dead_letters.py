"""Poison event: dead-lettered after N retries, later events still flow, replay after the fix applies once."""

import uuid

import effects_service
from effects_service import POISON_PERIOD, effects, effects_definition
from sqlalchemy import func, select

from embedded_stack.event_checks import read_topic
from embedded_stack.testing import TestStack, envelope_for, eventually, publish


def submission(period: str) -> dict:
    return {
        "submission_id": uuid.uuid4(),
        "provider_ods": "RTH",
        "period": period,
        "rows_total": 1,
        "rows_accepted": 1,
        "rows_rejected": 0,
    }


async def effect_count(runtime, period: str) -> int:
    async with runtime.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(effects).where(effects.c.period == period)) or 0
        )


async def test_poison_event_dead_letters_then_replays_once(stack: TestStack) -> None:
    effects_service.broken["poison"] = True
    tag = uuid.uuid4().hex[:6]
    poison = envelope_for("cdf.sact_submission.processed", f"k-{tag}", submission(POISON_PERIOD))
    later = [envelope_for("cdf.sact_submission.processed", f"k-{tag}", submission(f"later-{tag}")) for _ in range(3)]
    admin = stack.auth("X24", "admin")
    async with stack.service(effects_definition("effects-dlq"), database="effects_dlq", consumer_max_retries=3) as svc:
        await publish(stack.bootstrap_servers, [poison, *later])
        # later events on the same partition still flow past the poison one
        await eventually(lambda: _equals(effect_count(svc.runtime, f"later-{tag}"), 3), within=40)

        letters = (await svc.client.get("/admin/dead-letters", headers=admin)).json()
        mine = [d for d in letters if d["event_id"] == str(poison.id)]
        assert len(mine) == 1 and mine[0]["attempts"] == 3 and "handler bug" in mine[0]["error"]
        assert (
            await svc.client.get("/admin/dead-letters", headers=stack.auth("X24", "cdf_manager"))
        ).status_code == 403

        async def on_dlq_topic() -> list:
            records = await read_topic(stack.bootstrap_servers, "cdf.events.dlq", idle_s=0.3)
            return [r for r in records if dict(r.headers).get("original_event_id") == str(poison.id).encode()]

        dlq_records = await eventually(on_dlq_topic)
        assert b"handler bug" in dict(dlq_records[0].headers)["error"]
        assert await effect_count(svc.runtime, POISON_PERIOD) == 0

        effects_service.broken["poison"] = False  # the fix is deployed
        replayed = await svc.client.post(f"/admin/dead-letters/{mine[0]['id']}/replay", headers=admin)
        assert replayed.status_code == 200 and replayed.json()["outcome"] == "processed"
        again = await svc.client.post(f"/admin/dead-letters/{mine[0]['id']}/replay", headers=admin)
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
        assert await effect_count(svc.runtime, POISON_PERIOD) == 1
        missing = await svc.client.post("/admin/dead-letters/999999/replay", headers=admin)
        assert missing.status_code == 404


async def _equals(counting, expected: int) -> bool:
    return await counting == expected
