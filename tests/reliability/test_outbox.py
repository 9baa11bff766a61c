"""Outbox: with the broker down the API keeps accepting work; once it is back every event goes out once."""

import asyncio
import json
from collections import Counter

from samples import APPLICATION, prepare_cdf
from sqlalchemy import func, select

from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.broker import TansuBroker
from embedded_stack.event_checks import caught_up, events_consumed, read_topic
from embedded_stack.ports import free_port
from embedded_stack.testing import TestStack, eventually

TOTAL = 200


def application(i: int) -> dict:
    """A distinct patient per application (test-range NHS numbers), so none is a duplicate."""
    return {**APPLICATION, "nhs_number": nhs_number_for(i)}


async def test_broker_outage_loses_and_doubles_nothing(stack: TestStack, tmp_path) -> None:
    broker = TansuBroker(free_port(), tmp_path / "outage-broker.log")
    broker.start()
    clinician = stack.auth("RRV", "clinician")
    async with stack.service("cdf", database="cdf_outbox", kafka_bootstrap_servers=broker.bootstrap_servers) as cdf:
        await prepare_cdf(cdf.client, stack)
        outbox = cdf.runtime.tables.outbox
        async with cdf.runtime.sessions() as session:
            before = set(await session.scalars(select(outbox.c.event_id)))  # list and clinician events
        broker.stop()
        statuses = [
            (await cdf.client.post("/api/v1/cdf/applications", json=application(i), headers=clinician)).status_code
            for i in range(TOTAL)
        ]
        assert statuses == [201] * TOTAL
        ready = await cdf.client.get("/health/ready")  # still serving: the broker's state is reported
        assert ready.status_code == 200 and ready.json()["degraded"] == ["broker"]
        assert ready.json()["checks"]["broker"].startswith("unavailable")

        async def unpublished() -> int:
            async with cdf.runtime.sessions() as session:
                return int(
                    await session.scalar(
                        select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                    )
                )

        assert await unpublished() >= TOTAL  # held, not dropped (+ the list/clinician events, if not yet out)
        await asyncio.sleep(1.0)  # the relay is failing and backing off meanwhile
        broker.start()  # same port, empty memory: the relay recreates the topics
        await eventually(lambda: _zero(unpublished()), within=30)

        async with cdf.runtime.sessions() as session:
            rows = (await session.execute(select(outbox.c.event_id, outbox.c.event_type))).all()
        made_in_outage = {str(r.event_id): r.event_type for r in rows if r.event_id not in before}
        records = [json.loads(r.value) for r in await read_topic(broker.bootstrap_servers, "cdf.events")]
        delivered = Counter(r["id"] for r in records if r["id"] in made_in_outage)
        # approvals, and the forecast updates they caused: every one delivered, none twice
        assert sorted(made_in_outage.values()).count("cdf.application.approved") == TOTAL
        assert set(delivered) == set(made_in_outage) and set(delivered.values()) == {1}
    broker.stop()


async def _zero(counting) -> bool:
    return await counting == 0


async def test_replay_republishes_events_consumers_drop_repeats(stack: TestStack) -> None:
    """After a broker lost its log, `replay_since` re-sends; an inbox drops what it already handled.

    The commitment itself is idempotent by reference, so counting commitments alone could not see the
    approval handled twice: the contract consumer's own tally of approvals it ran the handler for must
    stay where it was, and the replayed copy must be counted as a duplicate. The marker is the same
    application's withdrawal, made after the replay: same key, so the same partition behind the replayed
    approval, read by the same consumer; once contract shows the withdrawal, the replay has been handled."""
    from datetime import UTC, datetime, timedelta

    from casework.outbox import replay_since

    clinician = stack.auth("RRV", "clinician")
    finance = stack.auth("X24", "contract_manager")
    async with stack.service("cdf", database="cdf_replay") as cdf, stack.service("contract") as contract:
        await prepare_cdf(cdf.client, stack)
        created = await cdf.client.post("/api/v1/cdf/applications", json=application(999), headers=clinician)
        reference = created.json()["reference"]

        async def commitments() -> list:
            response = await contract.client.get(
                "/api/v1/commitments", params={"source_reference": reference}, headers=finance
            )
            return response.json()

        await eventually(commitments)
        # contract may still be reading other tests' approvals left on the topic: let it finish first, so
        # its tally moves only by what this test sends
        consumer = contract.runtime.consumer
        await eventually(lambda: caught_up(stack.bootstrap_servers, consumer.name, consumer.topics), interval=0.5)
        service = contract.settings.service_name

        def approvals(outcome: str) -> int:
            return events_consumed(service, "cdf.application.approved", outcome)

        before = (approvals("processed"), approvals("duplicate"))
        replayed = await replay_since(
            cdf.runtime.sessions, cdf.runtime.tables, datetime.now(UTC) - timedelta(minutes=5)
        )
        assert replayed >= 1
        cdf.runtime.relay.wake()
        withdrawn = await cdf.client.post(
            f"/api/v1/cdf/applications/{created.json()['id']}/withdraw",
            json={"reason": "marker after the replay"},
            headers={**clinician, "If-Match": created.headers["ETag"]},
        )
        assert withdrawn.status_code == 200, withdrawn.text

        async def marker_handled() -> list:
            found = await commitments()
            return found if [c["status"] for c in found] == ["withdrawn"] else []

        assert len(await eventually(marker_handled)) == 1
        assert approvals("processed") == before[0], "the replayed approval ran contract's handler again"
        assert approvals("duplicate") > before[1], "the replayed approval never reached contract's inbox"
