"""A broker that loses what it acknowledged is refilled from the outbox by itself.

The embedded Tansu keeps its log in memory: SIGKILL and a restart on the same port leave it empty,
its topics gone. cdf-service's events acknowledged before the kill had not been read by anyone yet;
after the restart the relay notices the cut-back log and publishes them again with no manual step, and
contract-service, reading the topic afterwards, records every approval's commitment once.
"""

from __future__ import annotations

import json
import uuid

from samples import APPLICATION, prepare_cdf
from sqlalchemy import func, select

from casework.broker_loss import rewind_marker
from cdf_service.synthetic.people import nhs_number_for
from contract_service.db.models import Commitment
from embedded_stack.broker import TansuBroker
from embedded_stack.event_checks import read_topic
from embedded_stack.ports import free_port
from embedded_stack.testing import RunningService, TestStack, eventually

BEFORE, AFTER = 100, 100


async def _unpublished(svc: RunningService) -> int:
    outbox = svc.runtime.tables.outbox
    async with svc.runtime.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))) or 0
        )


async def test_a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing(stack: TestStack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = TansuBroker(free_port(), tmp_path / "loss-broker.log")
    broker.start()
    clinician = stack.auth("RRV", "clinician")
    bus = {"kafka_bootstrap_servers": broker.bootstrap_servers}
    try:
        async with stack.service("cdf", database="cdf_broker_loss", **bus) as cdf:
            await prepare_cdf(cdf.client, stack)

            async def apply(i: int) -> str:
                body = {**APPLICATION, "nhs_number": nhs_number_for(50_000 + i)}
                created = await cdf.client.post("/api/v1/cdf/applications", json=body, headers=clinician)
                assert created.status_code == 201, created.text
                return str(created.json()["reference"])

            references = [await apply(i) for i in range(BEFORE)]
            await eventually(lambda: _is_zero(_unpublished(cdf)))  # all acknowledged; nobody has read them
            assert broker.process is not None
            broker.process.kill()  # SIGKILL: the log was in memory
            broker.process.wait()
            broker.start()  # same port, empty
            references += [await apply(i) for i in range(BEFORE, BEFORE + AFTER)]  # the burst goes on
            await eventually(lambda: _is_zero(_unpublished(cdf)), within=60)
            republished = (await cdf.client.get("/metrics")).text
            assert 'casework_outbox_republished_total{service="cdf"}' in republished

        records = await read_topic(broker.bootstrap_servers, "cdf.events")
        on_topic = [json.loads(r.value) for r in records]
        approved = {r["data"]["reference"] for r in on_topic if r["type"] == "cdf.application.approved"}
        assert approved == set(references), f"lost: {len(set(references) - approved)}"
        # after the re-published events, every partition they went to carries a rewind marker, so that a
        # consumer standing past them in the new log reads it again (casework.broker_loss)
        old = set(references[:BEFORE])
        last_old = {}
        for record, event in zip(records, on_topic, strict=True):
            if event["type"] == "cdf.application.approved" and event["data"]["reference"] in old:
                last_old[record.partition] = max(record.offset, last_old.get(record.partition, -1))
        markers = {r.partition: r.offset for r in records if rewind_marker(r.headers) is not None}
        assert set(markers) >= set(last_old), (markers, last_old)
        assert all(markers[p] > last_old[p] for p in last_old), (markers, last_old)

        async with stack.service("contract", database="contract_broker_loss", **bus) as contract:

            async def commitments() -> int:
                async with contract.runtime.sessions() as session:
                    query = (
                        select(func.count()).select_from(Commitment).where(Commitment.source_reference.in_(references))
                    )
                    return int(await session.scalar(query) or 0)

            await eventually(lambda: _equals(commitments(), len(references)), within=90)
            outbox = contract.runtime.tables.outbox
            async with contract.runtime.sessions() as session:
                recorded = await session.scalar(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.event_type == "contract.commitment.recorded")
                )
            assert recorded == len(references)  # each approval's effect once: 0 doubled
    finally:
        broker.stop()


async def _is_zero(counting) -> bool:  # type: ignore[no-untyped-def]
    return await counting == 0


async def _equals(counting, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await counting == expected


async def test_an_end_offset_short_of_the_last_batch_is_not_taken_for_a_lost_log(stack: TestStack) -> None:
    """Tansu answers a partition's end offset as the start of its last batch + 1: after one produce request
    of five records the end looks four short of the highest acknowledged offset. Taken at its word, every
    service start "found" a lost log, re-published and sent rewind markers; consumers started afresh in
    each test then read whole partitions again once per old marker (CI: decision mails late past 30 s).
    A log still holding, at the highest acknowledged offset, the event the outbox recorded there is not
    cut; a log holding another event there (restarted, and grown past it: the fault probe lost 135
    effects when any record counted) is cut, and so is one that holds nothing there."""
    from aiokafka import AIOKafkaProducer

    from casework.broker_loss import cut_back
    from casework.settings import ServiceSettings

    topic = f"end-offset-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, linger_ms=50, enable_idempotence=False)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    await producer.start()
    try:
        sent = [await producer.send(topic, json.dumps({"id": i}).encode(), partition=0) for i in ids]  # one request
        acks = [await ack for ack in sent]
    finally:
        await producer.stop()
    highest = max(a.offset for a in acks)
    last_id = ids[[a.offset for a in acks].index(highest)]
    settings = ServiceSettings(service_name="probe", kafka_bootstrap_servers=stack.bootstrap_servers)
    partition = (topic, 0)
    assert await cut_back(settings, {partition: highest}, {partition: last_id}) == {}
    restarted = await cut_back(settings, {partition: highest}, {partition: str(uuid.uuid4())})
    assert list(restarted) == [partition]
    cut = await cut_back(settings, {partition: highest + 3}, {partition: last_id})  # as if it had acked three more
    assert list(cut) == [partition] and cut[partition] <= highest + 1


async def test_a_restarted_log_grown_past_the_highest_offset_or_missing_a_partition_is_cut(stack: TestStack) -> None:
    """A batch sent just after a restart can reach one partition and fail on the others; the relay's retry
    then finds that partition's new log longer than the old one was (CI: 31 of 200 approvals lost, the
    partition taken for whole because its end lay past the highest acknowledged offset). Its log holds
    another event at that offset: cut. A partition the topic came back without is cut from 0, at once."""
    from aiokafka import AIOKafkaProducer

    from casework.broker_loss import cut_back
    from casework.settings import ServiceSettings

    topic = f"grown-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        acks = [
            await producer.send_and_wait(topic, json.dumps({"id": str(uuid.uuid4())}).encode(), partition=0)
            for _ in range(6)
        ]
    finally:
        await producer.stop()
    settings = ServiceSettings(service_name="probe", kafka_bootstrap_servers=stack.bootstrap_servers)
    partition, missing = (topic, 0), (topic, 7)
    old_highest = acks[2].offset  # the old log ended here, with an event the new one does not hold
    cut = await cut_back(settings, {partition: old_highest}, {partition: str(uuid.uuid4())})
    assert list(cut) == [partition] and cut[partition] > old_highest
    intact = json.loads((await read_topic(stack.bootstrap_servers, topic))[2].value)["id"]
    assert await cut_back(settings, {partition: old_highest}, {partition: intact}) == {}
    assert await cut_back(settings, {missing: 3}, {missing: intact}) == {missing: 0}


async def test_a_consumer_reads_the_partitions_a_topic_came_back_with(stack: TestStack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A broker that came back empty has its topics made again by the first client to ask, with the
    broker's own partition count (Tansu: 4, where the platform makes 3). A consumer that lived through the
    restart must read the new partition too, soon, not after aiokafka's five-minute metadata age."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from effects_service import effects, effects_definition

    broker = TansuBroker(free_port(), tmp_path / "partitions-broker.log")
    broker.start()
    bus = {"kafka_bootstrap_servers": broker.bootstrap_servers, "kafka_topic_partitions": 3}
    tag = uuid.uuid4().hex[:8]
    try:
        async with stack.service(effects_definition("effects-partitions"), database="effects_partitions", **bus) as svc:
            first = _submission_event(f"p-{tag}-before")
            await _send(broker.bootstrap_servers, first, partition=0)
            await eventually(lambda: _effects_of(svc, effects, f"p-{tag}-before"), within=40)
            assert broker.process is not None
            broker.process.kill()
            broker.process.wait()
            broker.start()  # empty: the topic comes back with four partitions
            admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
            await admin.start()
            try:
                await admin.create_topics([NewTopic(first.topic, 4, 1)])
            except Exception:
                pass
            finally:
                await admin.close()
            await _send(broker.bootstrap_servers, _submission_event(f"p-{tag}-after"), partition=3)
            await eventually(lambda: _effects_of(svc, effects, f"p-{tag}-after"), within=40)
    finally:
        broker.stop()


def _submission_event(period: str):  # type: ignore[no-untyped-def]
    from embedded_stack.testing import envelope_for

    data = {"submission_id": uuid.uuid4(), "provider_ods": "RRV", "period": period}
    counts = {"rows_total": 1, "rows_accepted": 1, "rows_rejected": 0}
    return envelope_for("cdf.sact_submission.processed", period, {**data, **counts})


async def _send(bootstrap: str, envelope, partition: int) -> None:  # type: ignore[no-untyped-def]
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(envelope.topic, envelope.to_bytes(), partition=partition)
    finally:
        await producer.stop()


async def _effects_of(svc: RunningService, effects, period: str) -> bool:  # type: ignore[no-untyped-def]
    async with svc.runtime.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(effects).where(effects.c.period == period))
    return bool(found)


async def test_a_refilled_log_is_padded_past_every_old_position(stack: TestStack) -> None:
    """A consumer of the old log may stand at any offset up to its end; what is re-published must come
    after that, or the consumer skips it and the rewind marker too. `pad` fills the partition up to the
    old end with records no consumer handles (an envelope type without handlers: ignored, no dead
    letter)."""
    from aiokafka import AIOKafkaProducer

    from casework.broker_loss import PADDING_EVENT, pad
    from casework.settings import ServiceSettings

    topic = f"padding-{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(service_name="probe", kafka_bootstrap_servers=stack.bootstrap_servers)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"id": "first"}', partition=0)  # the new log holds one record
        sent = await pad(producer, settings, {(topic, 0): 40})  # the old log ended at 40
        after = await producer.send_and_wait(topic, b'{"id": "after"}', partition=0)
    finally:
        await producer.stop()
    assert sent >= 39
    assert after.offset >= 40  # what comes next lies beyond every position of the old log
    records = await read_topic(stack.bootstrap_servers, topic)
    fillers = [json.loads(r.value) for r in records[1:-1]]
    assert len(fillers) == sent and {f["type"] for f in fillers} == {PADDING_EVENT}


async def test_events_go_only_to_the_partitions_the_platform_made(stack: TestStack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A topic the broker made by itself with more partitions (Tansu: 4) than the platform's layout (3):
    the relay spreads events over the three only, by the same key hash as Kafka's default partitioner,
    so consumers given only those three miss nothing."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.partitioner import DefaultPartitioner

    from casework.outbox import key_partition

    broker = TansuBroker(free_port(), tmp_path / "layout-broker.log")
    broker.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("cdf.events", 4, 1)])
        finally:
            await admin.close()
        bus = {"kafka_bootstrap_servers": broker.bootstrap_servers, "kafka_topic_partitions": 3}
        clinician = stack.auth("RRV", "clinician")
        async with stack.service("cdf", database="cdf_partition_layout", **bus) as cdf:
            await prepare_cdf(cdf.client, stack)
            for i in range(30):
                body = {**APPLICATION, "nhs_number": nhs_number_for(60_000 + i)}
                created = await cdf.client.post("/api/v1/cdf/applications", json=body, headers=clinician)
                assert created.status_code == 201, created.text
            await eventually(lambda: _is_zero(_unpublished(cdf)), within=60)
        records = await read_topic(broker.bootstrap_servers, "cdf.events")
        approvals = [r for r in records if json.loads(r.value)["type"] == "cdf.application.approved"]
        assert len(approvals) == 30
        assert {r.partition for r in approvals} <= {0, 1, 2}
        assert len({r.partition for r in approvals}) > 1  # spread, not all on one
        for record in approvals:  # the partition Kafka's default partitioner gives among three
            assert record.partition == key_partition(record.key, 3) == DefaultPartitioner()(record.key, [0, 1, 2], [])
    finally:
        broker.stop()
