"""The one loop every background worker runs: a named round, again and again, until the service stops.

A `Worker` runs `one_round()` and then:

* the round answered True (more work is waiting: a full batch, say): the next round runs at once;
* it answered False (nothing left): the worker waits for its wake signal (`ServiceRuntime.wake_signal`,
  set after a commit that gave it work) or its poll interval, whichever comes first; the poll is the
  fallback for work stored through other replicas;
* it raised: the failure is logged (and `on_failure` run: the outbox relay drops its producer), then the
  worker backs off, `backoff_delay` with full jitter over the consecutive failures, reset by a success;
  a worker without a backoff waits as after an idle round.

Rounds are counted by outcome in `casework_worker_rounds_total{service,worker,outcome}`, and
`casework_worker_last_success_timestamp_seconds` says when one last succeeded. The worker stops only by
being cancelled (the service's stop): `asyncio.CancelledError` is never caught, whatever it interrupts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from casework.backoff import backoff_delay
from casework.logs import get_logger
from casework.metrics import WORKER_LAST_SUCCESS, WORKER_ROUNDS

log = get_logger(__name__)

Interval = float | Callable[[], float]  # seconds, or read again before each wait (a setting tests change)


@dataclass(frozen=True)
class Backoff:
    """How long a worker pauses after failing rounds: full jitter up to min(cap_s, base_s * 2**failures)."""

    base_s: float
    cap_s: float

    def delay(self, failures: int) -> float:
        return backoff_delay(failures, self.base_s, self.cap_s)


class Worker:
    def __init__(
        self,
        name: str,
        one_round: Callable[[], Awaitable[bool]],
        *,
        service: str,
        poll_s: Interval,
        wake: asyncio.Event | None = None,
        backoff: Backoff | None = None,
        on_failure: Callable[[Exception], Awaitable[object]] | None = None,
        failure_message: str = "worker round failed",
        round_gap_s: Interval = 0.0,
    ) -> None:
        """`round_gap_s`: after a wait, the next run of rounds starts no sooner than this long after the
        previous run started (a worker whose round is costly and whose wake-ups come in a stream)."""
        self.name = name
        self.failures = 0  # consecutive failed rounds
        self._round = one_round
        self._poll_s = poll_s
        self._wake = wake
        self._backoff = backoff
        self._on_failure = on_failure
        self._failure_message = failure_message
        self._gap_s = round_gap_s
        self._rounds = WORKER_ROUNDS.labels(service, name, "ok")
        self._failed = WORKER_ROUNDS.labels(service, name, "failed")
        self._last_success = WORKER_LAST_SUCCESS.labels(service, name)

    async def run(self) -> NoReturn:
        while True:
            started = time.monotonic()
            while await self._one_round():
                pass
            await self._wait(started)

    async def _one_round(self) -> bool:
        """One round; True when the next should run at once."""
        try:
            more = await self._round()
        except Exception as exc:  # never CancelledError (a BaseException): the stop goes through
            self._failed.inc()
            self.failures += 1
            delay = None if self._backoff is None else self._backoff.delay(self.failures)
            retry = {} if delay is None else {"retry_in_s": round(delay, 3)}
            log.warning(self._failure_message, worker=self.name, error=repr(exc), **retry)
            await self._failed_hook(exc)
            if delay is None:
                return False  # no backoff: the worker waits as after an idle round
            await asyncio.sleep(delay)
            return True
        self.failures = 0
        self._rounds.inc()
        self._last_success.set_to_current_time()
        return more

    async def _failed_hook(self, exc: Exception) -> None:
        if self._on_failure is None:
            return
        try:
            await self._on_failure(exc)
        except Exception as hook_exc:
            log.warning("worker failure hook failed", worker=self.name, error=repr(hook_exc))

    async def _wait(self, started: float) -> None:
        poll_s = _seconds(self._poll_s)
        if self._wake is None:
            await asyncio.sleep(poll_s)
        else:
            await wait_for_wake(self._wake, poll_s)
        gap_s = _seconds(self._gap_s)
        if gap_s > 0:
            await asyncio.sleep(max(0.0, started + gap_s - time.monotonic()))


def _seconds(interval: Interval) -> float:
    return interval() if callable(interval) else interval


async def wait_for_wake(event: asyncio.Event, timeout_s: float) -> None:
    """Wait until `event` is set or `timeout_s` passes, then clear it (a worker's poll).

    `asyncio.timeout`, not `asyncio.wait_for`: on Python 3.11 wait_for can swallow a cancellation that
    arrives as the event is set (the worker was woken by a commit just as the service stops), and the
    service's stop then waits forever for a worker that carries on polling."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        pass
    event.clear()
