"""The background worker loop (casework.worker): rounds, wake-ups, polls, backoff, metrics and the stop.

Every wait a test does not want to happen is a poll of a minute, and every test is bounded by a few
seconds: a worker that waited where it should not fails the test by its timeout, not by a clock reading.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from casework.worker import Backoff, Worker, wait_for_wake

_names = itertools.count()
NEVER = 60.0  # a poll no test waits for


def unique(name: str) -> str:
    """A worker name of its own per test, so the metrics of one test are not another's."""
    return f"{name}-{next(_names)}"


@dataclass(frozen=True)
class RecordedBackoff(Backoff):
    """Backoff that notes the failure count each delay was asked for, and checks the delay's bounds."""

    asked: list[int] = field(default_factory=list)

    def delay(self, failures: int) -> float:
        self.asked.append(failures)
        delay = super().delay(failures)
        assert 0 <= delay <= min(self.cap_s, self.base_s * 2**failures)
        return delay


class Script:
    """A round that plays a list of outcomes (True, False or an exception), then waits to be cancelled."""

    def __init__(self, *outcomes: bool | Exception) -> None:
        self.outcomes = list(outcomes)
        self.rounds = 0
        self.played = asyncio.Event()

    async def __call__(self) -> bool:
        self.rounds += 1
        if not self.outcomes:
            self.played.set()
            await asyncio.Event().wait()
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def run_until(worker: Worker, done: Callable[[], Awaitable[object]], within_s: float = 5) -> None:
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(within_s):
            await done()
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=1)
    assert task.cancelled()


def rounds(service: str, worker: str, outcome: str) -> float:
    labels = {"service": service, "worker": worker, "outcome": outcome}
    return REGISTRY.get_sample_value("casework_worker_rounds_total", labels) or 0.0


async def test_a_failing_round_backs_off_and_the_worker_recovers() -> None:
    script = Script(RuntimeError("one"), OSError("two"), True, RuntimeError("three"), False)
    backoff = RecordedBackoff(base_s=0.001, cap_s=0.004)
    failed: list[str] = []

    async def on_failure(exc: Exception) -> None:
        failed.append(str(exc))

    worker = Worker(
        unique("recovers"),
        script,
        service="test",
        poll_s=0.001,
        backoff=backoff,
        on_failure=on_failure,
        failure_message="test round failed",
    )
    with capture_logs() as logs:
        await run_until(worker, script.played.wait)
    assert script.rounds == 6
    assert failed == ["one", "two", "three"]
    assert backoff.asked == [1, 2, 1]  # the success between reset the count
    assert worker.failures == 0
    warnings = [e for e in logs if e["event"] == "test round failed"]
    assert [e["error"] for e in warnings] == ["RuntimeError('one')", "OSError('two')", "RuntimeError('three')"]
    assert all(e["worker"] == worker.name and 0 <= e["retry_in_s"] <= 0.004 for e in warnings)


async def test_after_a_backoff_the_next_round_runs_without_waiting_a_poll() -> None:
    script = Script(RuntimeError("down"), RuntimeError("down"), True)
    worker = Worker(unique("retry"), script, service="test", poll_s=NEVER, backoff=Backoff(0.001, 0.002))
    await run_until(worker, script.played.wait)
    assert script.rounds == 4


async def test_without_backoff_a_failed_round_waits_as_an_idle_one() -> None:
    wake = asyncio.Event()
    script = Script(RuntimeError("down"))
    worker = Worker(unique("no-backoff"), script, service="test", poll_s=NEVER, wake=wake)

    async def woken() -> None:
        while script.rounds < 1:
            await asyncio.sleep(0.001)
        for _ in range(5):
            await asyncio.sleep(0)
        assert script.rounds == 1  # waiting for the wake-up or the poll
        wake.set()
        await script.played.wait()

    await run_until(worker, woken)
    assert script.rounds == 2


async def test_a_wake_runs_a_round_before_the_poll_interval() -> None:
    wake = asyncio.Event()
    script = Script(False, False)
    worker = Worker(unique("woken"), script, service="test", poll_s=NEVER, wake=wake)

    async def wake_twice() -> None:
        for seen in (1, 2):
            while script.rounds < seen:
                await asyncio.sleep(0.001)
            wake.set()
        await script.played.wait()

    await run_until(worker, wake_twice)
    assert script.rounds == 3
    assert not wake.is_set()  # each wake-up is taken once


async def test_the_poll_interval_runs_a_round_without_a_wake() -> None:
    script = Script(False, False)
    polls: list[float] = []

    def poll_s() -> float:
        polls.append(0.001)
        return 0.001

    worker = Worker(unique("polled"), script, service="test", poll_s=poll_s)
    await run_until(worker, script.played.wait)
    assert script.rounds == 3
    assert len(polls) == 2  # read again before each wait


async def test_a_full_round_loops_without_waiting() -> None:
    script = Script(True, True, True, False)
    worker = Worker(unique("full"), script, service="test", poll_s=NEVER, wake=asyncio.Event())

    async def waits_after_the_short_round() -> None:
        while script.rounds < 4:
            await asyncio.sleep(0.001)
        for _ in range(5):
            await asyncio.sleep(0)
        assert script.rounds == 4  # the round that had nothing more waits for a wake-up or the poll

    await run_until(worker, waits_after_the_short_round)


async def test_a_round_gap_spaces_the_runs_of_rounds_that_follow_waits() -> None:
    wake = asyncio.Event()
    wake.set()  # woken at once: only the gap holds the next round back
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def one_round() -> bool:
        starts.append(loop.time())
        if len(starts) == 3:
            await asyncio.Event().wait()
        wake.set()
        return False

    worker = Worker(unique("gap"), one_round, service="test", poll_s=NEVER, wake=wake, round_gap_s=0.05)

    async def three_rounds() -> None:
        while len(starts) < 3:
            await asyncio.sleep(0.005)

    await run_until(worker, three_rounds)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= 0.045 for gap in gaps), gaps  # the loop's clock may fire a timer a hair early


async def test_cancelling_a_worker_woken_at_the_same_moment_stops_it() -> None:
    """Python 3.11's wait_for could swallow this cancellation; the service's stop then hung."""
    for steps in range(8):  # cancel at every point between the wake-up and the next round
        wake = asyncio.Event()
        script = Script(*[False] * 20)
        task = asyncio.create_task(Worker(unique("stop"), script, service="test", poll_s=NEVER, wake=wake).run())
        while script.rounds < 1:
            await asyncio.sleep(0)
        wake.set()
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task], timeout=1)
        assert task.cancelled(), f"cancellation lost {steps} steps after the wake-up"


@pytest.mark.parametrize("backoff", [None, Backoff(0.001, 0.002)])
async def test_cancelling_a_round_stops_the_worker_and_is_no_failure(backoff: Backoff | None) -> None:
    started = asyncio.Event()
    failed: list[Exception] = []

    async def one_round() -> bool:
        started.set()
        await asyncio.Event().wait()
        return False

    async def on_failure(exc: Exception) -> None:
        failed.append(exc)

    name = unique("cancelled")
    worker = Worker(name, one_round, service="test", poll_s=NEVER, backoff=backoff, on_failure=on_failure)
    await run_until(worker, started.wait)
    assert failed == [] and worker.failures == 0
    assert rounds("test", name, "failed") == 0


async def test_a_failing_hook_is_logged_and_the_worker_goes_on() -> None:
    script = Script(RuntimeError("down"), False)

    async def on_failure(exc: Exception) -> None:
        raise OSError("hook")

    worker = Worker(
        unique("hook"), script, service="test", poll_s=0.001, backoff=Backoff(0.001, 0.002), on_failure=on_failure
    )
    with capture_logs() as logs:
        await run_until(worker, script.played.wait)
    assert script.rounds == 3
    assert [e["error"] for e in logs if e["event"] == "worker failure hook failed"] == ["OSError('hook')"]


async def test_metrics_count_rounds_by_outcome_and_the_last_success() -> None:
    name = unique("metrics")
    script = Script(True, RuntimeError("down"), False, RuntimeError("down"), False)
    worker = Worker(name, script, service="metered", poll_s=0.001, backoff=Backoff(0.001, 0.002))
    await run_until(worker, script.played.wait)
    assert rounds("metered", name, "ok") == 3
    assert rounds("metered", name, "failed") == 2
    last = REGISTRY.get_sample_value(
        "casework_worker_last_success_timestamp_seconds", {"service": "metered", "worker": name}
    )
    assert last is not None and last > 0


async def test_wait_for_wake_stops_when_cancelled_as_it_is_woken() -> None:
    """Python 3.11's wait_for could swallow this cancellation; the service's stop then hung."""
    for steps in range(6):  # cancel at every point between the wake-up and the waiter resuming
        event = asyncio.Event()
        waiting = asyncio.create_task(wait_for_wake(event, 5.0))
        await asyncio.sleep(0)
        event.set()
        for _ in range(steps):
            await asyncio.sleep(0)
        requested = waiting.cancel()  # False: it had already returned
        await asyncio.wait([waiting], timeout=1)
        assert waiting.done()
        assert waiting.cancelled() or not requested, f"cancellation lost {steps} steps after the wake-up"


async def test_wait_for_wake_returns_on_the_event_or_the_timeout_and_clears_it() -> None:
    event = asyncio.Event()
    event.set()
    await asyncio.wait_for(wait_for_wake(event, 5.0), timeout=1)
    assert not event.is_set()
    await asyncio.wait_for(wait_for_wake(event, 0.01), timeout=1)
