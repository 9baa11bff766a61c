"""Two contract-service replicas share the consumer group's partitions of `cdf.events`; SIGKILL of one
while approvals still arrive loses no commitment and makes none twice.

600 `cdf.application.approved` events for one provider (each its own application and reference, the
provider's contract has a CDF budget line for them to land on) go to the bus while two replicas
consume. Both handle some (each one's `casework_events_consumed_total`), then one is SIGKILLed while
the rest are still being produced: what it had handled but not committed the offsets of comes again to
the survivor once the group gives it the dead one's partitions (after the session timeout), and the
inbox drops it (`outcome="duplicate"`). At the end: 600 commitments, one per reference, each created
by its own approval (the commitment's `create` audit row names the event: 600 rows, 600 distinct event
ids, exactly the ones sent), one inbox row per event, one `contract.commitment.recorded` each, no dead
letter. A marker approval produced afterwards and seen handled, and the group having committed the end
of every `cdf.events` partition, show the count is final. (A commitment is also unique by source and
reference, so a second run of the handler could not add a row: the inbox's duplicates are what show
redeliveries came and were absorbed before the handler.)
"""

from __future__ import annotations

import asyncio

from contract_fixtures import (
    DRUG_A,
    add_line,
    cdf_approved,
    cdf_ref,
    create_contract,
    new_nhs_number,
    new_provider,
    ref_of,
)
from replicas import metric
from sqlalchemy import text

from embedded_stack.event_checks import caught_up
from embedded_stack.testing import RunningService, TestStack, eventually, publish

EVENTS = 600
APPROVED = "cdf.application.approved"
_COMMITMENTS = text(
    "SELECT count(*) AS n, count(DISTINCT source_reference) AS refs, count(budget_line_id) AS on_line"
    " FROM commitments WHERE provider_ods = :provider"
)
_CREATED_BY = text(  # the event each commitment was created by, as its audit row names it
    "SELECT substring(a.reason FROM 'event (.*)$') AS event_id FROM audit_events a"
    " JOIN commitments c ON a.entity_id = c.id::text"
    " WHERE a.entity_type = 'commitment' AND a.action = 'create' AND c.provider_ods = :provider"
)
_INBOX = text("SELECT count(*) FROM inbox_events WHERE event_id = ANY(:ids)")
_RECORDED = text(
    "SELECT count(*) FROM outbox_events WHERE event_type = 'contract.commitment.recorded'"
    " AND envelope->'data'->>'provider_ods' = :provider"
)
_DEAD = text("SELECT count(*) FROM dead_letters")


def consumed(url: str) -> float:
    return metric(url, "casework_events_consumed_total", event_type=APPROVED)


async def _commitments(svc: RunningService, provider: str) -> tuple[int, int, int]:
    async with svc.runtime.sessions() as session:
        row = (await session.execute(_COMMITMENTS, {"provider": provider})).one()
    return row.n, row.refs, row.on_line


async def test_two_contract_replicas_share_the_approvals_and_a_kill_loses_and_doubles_nothing(
    stack: TestStack,
) -> None:
    database = "contract_replica_consumers"
    provider = new_provider()
    async with stack.service("contract", database=database, run_workers=False) as db:
        contract = await create_contract(db.client, stack, provider)
        await add_line(db.client, stack, contract["id"], "cdf", "10000000.00", category="cdf", line_name="CDF drugs")

        def approval() -> object:
            return cdf_approved(cdf_ref(provider, ref_of(db, new_nhs_number()), DRUG_A), "1000.00")

        events = [approval() for _ in range(EVENTS)]
        with stack.served_replicas("contract", 2, database=database) as replicas:
            producing = asyncio.create_task(publish(stack.bootstrap_servers, events))  # type: ignore[arg-type]

            async def both_working() -> bool:
                return (
                    all(consumed(r.url) > 0 for r in replicas) and (await _commitments(db, provider))[0] >= EVENTS // 6
                )

            await eventually(both_working, within=90)
            shares = [consumed(r.url) for r in replicas]
            victim, survivor = replicas
            victim.kill()  # while approvals still arrive: it had handled some it had not committed yet
            at_kill = (await _commitments(db, provider))[0]
            await producing
            assert at_kill < EVENTS, "all were handled before the kill"

            async def all_committed() -> bool:
                return (await _commitments(db, provider))[0] >= EVENTS

            await eventually(all_committed, within=120, interval=0.2)
            marker = approval()
            await publish(stack.bootstrap_servers, [marker])  # type: ignore[list-item]

            async def marker_handled() -> bool:
                return (await _commitments(db, provider))[0] == EVENTS + 1

            await eventually(marker_handled, within=60)
            group = db.runtime.consumer
            assert group is not None
            await eventually(lambda: caught_up(stack.bootstrap_servers, group.name, ["cdf.events"]), within=60)
            dropped = metric(survivor.url, "casework_events_consumed_total", event_type=APPROVED, outcome="duplicate")
            ids = [e.id for e in [*events, marker]]  # type: ignore[attr-defined]
            async with db.runtime.sessions() as session:
                commitments = (await session.execute(_COMMITMENTS, {"provider": provider})).one()
                created_by = [r.event_id for r in await session.execute(_CREATED_BY, {"provider": provider})]
                inbox = await session.scalar(_INBOX, {"ids": ids})
                recorded = await session.scalar(_RECORDED, {"provider": provider})
                dead = await session.scalar(_DEAD)
    total = EVENTS + 1  # the marker's included
    assert tuple(commitments) == (total, total, total), f"commitments, references, on the line: {commitments}"
    assert len(created_by) == total and set(created_by) == {str(i) for i in ids}, "each created by its own event"
    assert inbox == total and recorded == total
    assert dead == 0
    print(
        f"replica contract: {EVENTS} approvals, consumed before the kill {shares}, {at_kill} commitments at the "
        f"kill, {commitments.n - 1} after (0 lost, 0 doubled), {dropped:g} redelivered and dropped by the inbox"
    )
