"""Bounded shutdown steps: a stop() that will not finish, or will not be cancelled, cannot hold a service."""

from __future__ import annotations

import asyncio
import time

from casework.shutdown import cancel_within, finish_within


async def _stubborn(finished: list[str]) -> None:
    """Swallows the first cancellation, as a client leaving a group on a dead broker can."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await asyncio.sleep(0.3)
    finished.append("late")


async def test_a_step_that_outlives_its_time_is_given_up() -> None:
    finished: list[str] = []
    started = time.monotonic()
    assert await finish_within(_stubborn(finished), 0.1, "stubborn stop") is False
    assert time.monotonic() - started < 0.3  # asyncio.wait_for would have waited for the swallowed cancel
    assert finished == []


async def test_a_step_that_finishes_or_fails_in_time_counts_as_finished() -> None:
    assert await finish_within(asyncio.sleep(0.01), 1, "quick stop") is True

    async def failing() -> None:
        raise RuntimeError("broker gone")

    assert await finish_within(failing(), 1, "failing stop") is True


async def test_cancel_within_returns_although_a_task_ignores_cancellation() -> None:
    finished: list[str] = []
    polite = asyncio.create_task(asyncio.sleep(30))
    stubborn = asyncio.create_task(_stubborn(finished))
    await asyncio.sleep(0)
    started = time.monotonic()
    await cancel_within([polite, stubborn], 0.1)
    assert time.monotonic() - started < 0.3
    assert polite.cancelled() and not stubborn.done()
    await asyncio.sleep(0.4)
    assert finished == ["late"]
