"""The consumer's batches, against the real PostgreSQL and broker: records fetched together share one
transaction and one inbox claim, yet each event still has its effect once, a failing event is retried
and dead-lettered alone, events no handler wants cost no database work, and offsets are committed for
handled records only, lazily and at close."""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import BigInteger, Column, String, Table, event, func, select

from casework.db import PlatformTables, service_metadata
from casework.inbox import Delivery, EventConsumer, ReceivedEvent
from casework.runtime import ServiceDefinition
from casework.settings import ServiceSettings
from casework.uow import UnitOfWork
from embedded_stack.testing import TestStack, envelope_for, eventually, publish

metadata = service_metadata()
tables = PlatformTables.on(metadata)
effects = Table(
    "batch_effects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False),
    Column("period", String(40), nullable=False),
)
calls: Counter[str] = Counter()  # handler calls per period
earlier: dict[str, int] = {}  # "staged-" periods: rows of the same run the handler found before writing


async def record(uow: UnitOfWork, received: ReceivedEvent) -> None:
    """Not idempotent by itself: an event handled twice shows as two rows."""
    period = received.envelope.data["period"]
    calls[period] += 1
    if period.startswith("poison-"):  # only this module's: the topic holds other tests' events too
        raise RuntimeError(f"cannot handle {period}")
    row = {"event_id": str(received.envelope.id), "period": period}
    if period.startswith("staged"):  # written at the unit of work's next flush, with an event
        run = period.rsplit("-", 1)[0]
        query = select(func.count()).select_from(effects).where(effects.c.period.startswith(run))
        earlier[period] = int(await uow.session.scalar(query) or 0)
        uow.stage_rows(effects, [row])
        uow.emit("contract.budget.at_risk", "line", at_risk_payload())
    else:
        await uow.session.execute(effects.insert().values(**row))
    if period.startswith("summed-"):  # "summed-<tag>-<group>-<n>": one summary row per group per transaction
        group = period.rsplit("-", 1)[0]
        uow.before_commit(("summary", group), functools.partial(summarise, uow, group))


async def summarise(uow: UnitOfWork, group: str) -> None:
    """Counts the group's rows as the transaction sees them just before it commits."""
    query = select(func.count()).select_from(effects).where(effects.c.period.startswith(f"{group}-"))
    seen = int(await uow.session.scalar(query) or 0)
    await uow.session.execute(effects.insert().values(event_id="-", period=f"{group}=summary-of-{seen}"))


def at_risk_payload() -> dict[str, Any]:
    return {
        "provider_ods": "RRV",
        "financial_year": "2026/27",
        "budget_line_id": str(uuid.uuid4()),
        "line_name": "CDF",
        "budget": "1",
        "forecast_outturn": "2",
        "variance": "1",
        "margin_pct": "5",
        "contract_lead_email": None,
    }


def batches_definition(name: str = "batches") -> ServiceDefinition:
    return ServiceDefinition(
        name=name,
        title="Batches (test)",
        version="0",
        settings_class=ServiceSettings,
        metadata=metadata,
        tables=tables,
        migrations=Path("/nonexistent"),
        handlers={"cdf.sact_submission.processed": record},
    )


def submission(period: str) -> Any:
    data = {
        "submission_id": str(uuid.uuid4()),
        "provider_ods": "RRV",
        "period": period,
        "rows_total": 1,
        "rows_accepted": 1,
        "rows_rejected": 0,
    }
    return envelope_for("cdf.sact_submission.processed", "sub", data)


def started() -> Any:
    """An event the service has no handler for."""
    data = {
        "application_id": str(uuid.uuid4()),
        "reference": "CDF-1",
        "provider_ods": "RRV",
        "patient_ref": "p" * 64,
        "dmd_id": "37620001110000107",
        "entry_id": "CDF-1",
        "first_administration": "2026-06-01",
        "cycles_to_date": 1,
    }
    return envelope_for("cdf.treatment.started", "app", data)


def deliveries(envelopes: list[Any]) -> list[Delivery]:
    return [Delivery("cdf.events", 0, i, e.to_bytes()) for i, e in enumerate(envelopes)]


async def effect_periods(runtime: Any, prefix: str) -> list[str]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(effects.c.period).where(effects.c.period.startswith(prefix)).order_by(effects.c.id)
        )
        return list(rows)


async def count(runtime: Any, table: Table, *where: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


class Statements:
    """Statements and commits on the consumer's engine while the block runs."""

    def __init__(self, runtime: Any) -> None:
        self.engine = runtime.consumer_engine.sync_engine
        self.executed = self.commits = 0

    def _executed(self, *_: object, **__: object) -> None:
        self.executed += 1

    def _committed(self, *_: object) -> None:
        self.commits += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._executed)
        event.listen(self.engine, "commit", self._committed)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._executed)
        event.remove(self.engine, "commit", self._committed)


@pytest.fixture(scope="module")
async def batches(stack: TestStack) -> Any:
    settings = {"run_workers": False, "consumer_max_retries": 3}
    async with stack.service(batches_definition(), database="inbox_batches", **settings) as svc:
        yield svc


async def test_records_fetched_together_share_one_transaction(batches: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    envelopes = [submission(f"one-{tag}-{i}") for i in range(5)]
    consumer = batches.runtime.consumer
    with Statements(batches.runtime) as seen:
        outcomes = await consumer.deliver_many(deliveries(envelopes))
    assert outcomes == ["processed"] * 5
    assert await effect_periods(batches.runtime, f"one-{tag}") == [f"one-{tag}-{i}" for i in range(5)]
    assert seen.commits == 1  # one transaction, not five
    assert seen.executed == 1 + 5  # the inbox claim for all five, then each handler's insert
    inbox = batches.runtime.tables.inbox
    assert await count(batches.runtime, inbox, inbox.c.event_id.in_([e.id for e in envelopes])) == 5


async def test_redelivered_and_repeated_events_have_one_effect(batches: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    a, b, c, d = (submission(f"dup-{tag}-{x}") for x in "abcd")
    consumer = batches.runtime.consumer
    assert await consumer.deliver_many(deliveries([a, b])) == ["processed", "processed"]
    again = await consumer.deliver_many(deliveries([a, c, c, b, d]))
    assert again == ["duplicate", "processed", "duplicate", "duplicate", "processed"]
    assert await effect_periods(batches.runtime, f"dup-{tag}") == [f"dup-{tag}-{x}" for x in "abcd"]
    assert await consumer.deliver(deliveries([c])[0]) == "duplicate"  # the single path agrees


async def test_a_failing_event_is_retried_and_dead_lettered_alone(batches: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    poison = submission(f"poison-{tag}")
    envelopes = [submission(f"ok-{tag}-0"), poison, submission(f"ok-{tag}-1"), submission(f"ok-{tag}-2")]
    consumer = batches.runtime.consumer
    outcomes = await consumer.deliver_many(deliveries(envelopes))
    assert outcomes == ["processed", "dead_lettered", "processed", "processed"]
    # the others each once, in order; the failed batch try counts as the poison event's first attempt
    assert await effect_periods(batches.runtime, f"ok-{tag}") == [f"ok-{tag}-{i}" for i in range(3)]
    assert calls[f"poison-{tag}"] == 3  # consumer_max_retries: the failed batch try was its first attempt
    letters = batches.runtime.tables.dead_letters
    async with batches.runtime.sessions() as session:
        [letter] = (await session.execute(select(letters).where(letters.c.event_id == poison.id))).all()
    assert letter.attempts == 3 and f"cannot handle poison-{tag}" in letter.error
    inbox = batches.runtime.tables.inbox
    assert await count(batches.runtime, inbox, inbox.c.event_id == poison.id) == 0


async def test_a_handler_sees_what_the_one_before_it_staged(batches: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    envelopes = [submission(f"staged-{tag}-{i}") for i in range(3)]
    outcomes = await batches.runtime.consumer.deliver_many(deliveries(envelopes))
    assert outcomes == ["processed"] * 3
    assert [earlier[f"staged-{tag}-{i}"] for i in range(3)] == [0, 1, 2]  # flushed between handlers
    outbox = batches.runtime.tables.outbox
    causes = sorted(str(e.id) for e in envelopes)
    async with batches.runtime.sessions() as session:
        found = await session.scalars(select(outbox.c.envelope).where(outbox.c.event_type == "contract.budget.at_risk"))
        caused = sorted(c for c in (e["causation_id"] for e in found) if c in causes)
    assert caused == causes  # each event emitted under its own causation id


async def test_events_no_handler_wants_cost_no_database_work(batches: Any) -> None:
    consumer = batches.runtime.consumer
    unwanted = [started() for _ in range(3)]
    inbox = batches.runtime.tables.inbox
    with Statements(batches.runtime) as seen:
        assert await consumer.deliver_many(deliveries(unwanted)) == ["ignored"] * 3
    assert (seen.executed, seen.commits) == (0, 0)
    assert await count(batches.runtime, inbox, inbox.c.event_id.in_([e.id for e in unwanted])) == 0


async def test_offsets_are_committed_for_handled_records_lazily_and_at_close(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"batches{tag}"
    group = f"{name}-service"
    monkeypatch.setattr(EventConsumer, "commit_interval_s", 3600.0)  # only the close may commit
    envelopes = [submission(f"off-{tag}-{i}") for i in range(12)] + [started() for _ in range(3)]
    async with stack.service(batches_definition(name), database="inbox_batches", consumer_max_retries=3) as svc:
        await publish(stack.bootstrap_servers, envelopes)
        await eventually(lambda: _at_least(effect_periods(svc.runtime, f"off-{tag}"), 12), within=40)
        mine = await partition_of(svc.runtime, envelopes[0])  # one key: one partition, where they came last
        assert mine not in await committed(stack, group)  # handled, but not committed after each fetch
    end = (await end_offsets(stack))[mine]
    assert (await committed(stack, group))[mine] == end  # the close committed every handled record


async def partition_of(runtime: Any, envelope: Any) -> int:
    inbox = runtime.tables.inbox
    async with runtime.sessions() as session:
        return int(await session.scalar(select(inbox.c.partition).where(inbox.c.event_id == envelope.id)))


async def _at_least(periods: Any, n: int) -> list[str] | None:
    found = await periods
    return found if len(found) >= n else None


async def committed(stack: TestStack, group: str) -> dict[int, int]:
    reader = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = reader.partitions_for_topic("cdf.events") or set()
        found = {p: await reader.committed(TopicPartition("cdf.events", p)) for p in partitions}
        return {p: o for p, o in found.items() if o is not None}
    finally:
        await reader.stop()


async def end_offsets(stack: TestStack) -> dict[int, int]:
    reader = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers, enable_auto_commit=False)
    await reader.start()
    try:
        tps = [TopicPartition("cdf.events", p) for p in reader.partitions_for_topic("cdf.events") or set()]
        return {tp.partition: o for tp, o in (await reader.end_offsets(tps)).items() if o > 0}
    finally:
        await reader.stop()


async def test_a_rebalance_commits_what_was_handled_before_partitions_move(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"batches{tag}"
    group = f"{name}-service"
    monkeypatch.setattr(EventConsumer, "commit_interval_s", 3600.0)
    envelopes = [submission(f"move-{tag}-{i}") for i in range(9)]
    async with stack.service(batches_definition(name), database="inbox_batches", consumer_max_retries=3) as svc:
        await publish(stack.bootstrap_servers, envelopes)
        await eventually(lambda: _at_least(effect_periods(svc.runtime, f"move-{tag}"), 9), within=40)
        mine = await partition_of(svc.runtime, envelopes[0])
        assert mine not in await committed(stack, group)
        end = (await end_offsets(stack))[mine]
        newcomer = AIOKafkaConsumer(
            "cdf.events",
            bootstrap_servers=stack.bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            session_timeout_ms=3000,
            heartbeat_interval_ms=300,
            rebalance_timeout_ms=1000,
        )
        await newcomer.start()  # joining makes the service's consumer give up partitions: it commits first
        try:
            await eventually(lambda: _committed_to(stack, group, mine, end), within=30, interval=0.2)
        finally:
            await newcomer.stop()


async def _committed_to(stack: TestStack, group: str, partition: int, offset: int) -> bool:
    return (await committed(stack, group)).get(partition) == offset


async def test_a_step_before_commit_runs_once_per_key_after_every_handler(batches: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    b, a = f"summed-{tag}-b", f"summed-{tag}-a"
    envelopes = [submission(f"{b}-0"), submission(f"{a}-0"), submission(f"{b}-1"), submission(f"{b}-2")]
    consumer = batches.runtime.consumer
    assert await consumer.deliver_many(deliveries(envelopes)) == ["processed"] * 4
    periods = await effect_periods(batches.runtime, f"summed-{tag}")
    # the handlers' rows, then each group's summary once, in key order, counting every row of the batch
    assert periods[4:] == [f"{a}=summary-of-1", f"{b}=summary-of-3"]
    # alone, an event's step runs in its own transaction
    assert await consumer.deliver(deliveries([submission(f"{a}-1")])[0]) == "processed"
    assert (await effect_periods(batches.runtime, f"summed-{tag}"))[-1] == f"{a}=summary-of-2"
