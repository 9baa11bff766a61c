"""Periodic jobs keep running after a failing round."""

import asyncio

from casework.periodic import every, wait_for_wake


async def test_job_runs_repeatedly_and_survives_a_failure() -> None:
    rounds: list[int] = []

    async def job(runtime: object) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise RuntimeError("one bad round")

    task = asyncio.create_task(every(0.01, job, "sweep")(None))  # type: ignore[arg-type]
    while len(rounds) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    assert rounds[:4] == [0, 1, 2, 3]
    assert every(1, job, "sweep").__name__ == "sweep"


async def test_a_worker_woken_as_it_is_cancelled_still_stops() -> None:
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
