"""Inbox: a redelivered event has one effect; a consumer killed mid-batch loses and doubles nothing."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from effects_service import effects, effects_definition
from sqlalchemy import func, select, text

from embedded_stack.testing import TestStack, envelope_for, eventually, publish


def submission(period: str) -> dict:
    return {
        "submission_id": uuid.uuid4(),
        "provider_ods": "RRV",
        "period": period,
        "rows_total": 1,
        "rows_accepted": 1,
        "rows_rejected": 0,
    }


async def count_effects(runtime, period_prefix: str) -> tuple[int, int]:
    async with runtime.sessions() as session:
        total = await session.scalar(
            select(func.count()).select_from(effects).where(effects.c.period.startswith(period_prefix))
        )
        distinct = await session.scalar(
            select(func.count(func.distinct(effects.c.event_id))).where(effects.c.period.startswith(period_prefix))
        )
    return int(total or 0), int(distinct or 0)


async def test_same_event_twice_has_one_effect(stack: TestStack) -> None:
    tag = uuid.uuid4().hex[:8]
    first = envelope_for("cdf.sact_submission.processed", "sub-1", submission(f"dup-{tag}"))
    marker = envelope_for("cdf.sact_submission.processed", "sub-1", submission(f"dup-{tag}-end"))
    async with stack.service(effects_definition("effects-dup"), database="effects_dup") as svc:
        await publish(stack.bootstrap_servers, [first, first, marker])  # same key: one partition, in order
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"dup-{tag}-end"), 1), within=40)
        assert await count_effects(svc.runtime, f"dup-{tag}") == (2, 2)  # `first` once + the marker


async def test_killed_consumer_loses_nothing_and_doubles_nothing(stack: TestStack) -> None:
    tag = uuid.uuid4().hex[:8]
    total = 1500
    envelopes = [
        envelope_for("cdf.sact_submission.processed", f"s-{i % 7}", submission(f"kill-{tag}-{i}")) for i in range(total)
    ]
    async with stack.service(effects_definition("effects-kill"), database="effects_kill", run_workers=False) as svc:
        await publish(stack.bootstrap_servers, envelopes)
        worker = Path(__file__).parent / "effects_worker.py"
        args = [sys.executable, str(worker), svc.settings.database_url, stack.bootstrap_servers, f"kill-{tag}"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        first = subprocess.Popen(args, env=env)
        try:
            _done_before_kill, _ = await eventually(
                lambda: _at_least(count_effects(svc.runtime, f"kill-{tag}"), 200), within=60, interval=0.01
            )
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            first.kill()
        after_kill, _ = await count_effects(svc.runtime, f"kill-{tag}")
        assert after_kill < total, "the worker finished before it could be killed; the test proves nothing"
        second = subprocess.Popen(args, env=env)
        try:
            await eventually(
                lambda: _at_least(count_effects(svc.runtime, f"kill-{tag}"), total), within=90, interval=0.2
            )
            await _settle()
            assert await count_effects(svc.runtime, f"kill-{tag}") == (total, total)
        finally:
            second.kill()
            second.wait()
        print(f"killed after {after_kill}/{total} effects; after restart {total} distinct, 0 doubled")


async def _at_least(counting, minimum: int):
    total, distinct = await counting
    return (total, distinct) if total >= minimum else None


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(1.0)  # any redelivery still in flight would show up as an extra row


async def test_consumer_outlives_its_database_connections_being_cut(stack: TestStack) -> None:
    """The consumer's pool has no checkout ping: a connection the server dropped fails one attempt,
    the pool is invalidated and the retry handles the event on a fresh connection, once."""
    tag = uuid.uuid4().hex[:8]
    async with stack.service(effects_definition("effects-cut"), database="effects_cut") as svc:
        before = envelope_for("cdf.sact_submission.processed", "sub-c", submission(f"cut-{tag}-0"))
        await publish(stack.bootstrap_servers, [before])
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"cut-{tag}-0"), 1), within=40)
        async with svc.runtime.sessions() as session:
            cut = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = 'effects_cut' AND pid <> pg_backend_pid()"
                )
            )
        assert cut >= 1  # at least the consumer's pooled connection
        after = [envelope_for("cdf.sact_submission.processed", "sub-c", submission(f"cut-{tag}-{i}")) for i in (1, 2)]
        await publish(stack.bootstrap_servers, after)
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"cut-{tag}-2"), 1), within=40)
        assert await count_effects(svc.runtime, f"cut-{tag}-") == (3, 3)
        letters = svc.runtime.tables.dead_letters
        async with svc.runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(letters)) == 0


async def test_a_rewind_marker_reads_the_partition_again_and_doubles_nothing(stack: TestStack) -> None:
    """What a consumer does when the broker lost its log (casework.broker_loss): on a rewind marker it reads
    the partition again from the start. An event below its position that it never handled (here: its
    inbox entry and effect removed, as for an event re-published into the new log before the consumer's
    old offset) is handled then; what it had handled is not handled twice; the same marker again is a no-op."""
    tag = uuid.uuid4().hex[:8]
    key = f"rewind-{tag}"
    first = envelope_for("cdf.sact_submission.processed", key, submission(f"rw-{tag}-0"))
    async with stack.service(effects_definition("effects-rewind"), database="effects_rewind") as svc:
        await publish(stack.bootstrap_servers, [first, envelope_for(*_event(key, f"rw-{tag}-1"))])
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"rw-{tag}-1"), 1), within=40)
        async with svc.runtime.sessions() as session, session.begin():  # `first` as if never handled
            await session.execute(effects.delete().where(effects.c.event_id == first.id))
            inbox = svc.runtime.tables.inbox
            await session.execute(inbox.delete().where(inbox.c.event_id == first.id))
        marker = uuid.uuid4().hex
        await _publish_marker(stack, key, marker)
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"rw-{tag}-0"), 1), within=40)
        await _publish_marker(stack, key, marker)  # met again (after its rewind, or re-sent): nothing
        end = envelope_for(*_event(key, f"rw-{tag}-end"))
        await publish(stack.bootstrap_servers, [end])
        await eventually(lambda: _at_least(count_effects(svc.runtime, f"rw-{tag}-end"), 1), within=40)
        assert await count_effects(svc.runtime, f"rw-{tag}-") == (3, 3)


def _event(key: str, period: str) -> tuple[str, str, dict]:
    return "cdf.sact_submission.processed", key, submission(period)


async def _publish_marker(stack: TestStack, key: str, marker: str) -> None:
    """A rewind marker as the outbox relay sends one: on the key's partition, with the rewind header."""
    from aiokafka import AIOKafkaProducer

    from casework.broker_loss import REWIND_HEADER, rewind_envelope

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all")
    await producer.start()
    try:
        envelope = rewind_envelope("test", "cdf.events", 0)
        headers = [(REWIND_HEADER, marker.encode())]
        await producer.send_and_wait("cdf.events", envelope.to_bytes(), key=key.encode(), headers=headers)
    finally:
        await producer.stop()
