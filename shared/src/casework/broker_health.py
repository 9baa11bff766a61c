"""The broker's state as readiness reports it: probed in the background, at most every few seconds.

A readiness probe must answer quickly whatever the broker does: a producer's start against a broker
that does not answer takes seconds, and a load balancer's probe gives up sooner. So `/health/ready`
reads the last result and starts a fresh probe when that one is older than `interval_s`, waiting for
it only briefly (long enough for a broker that answers; the first probe of a process in full). The
result is also the gauge `casework_broker_up`.
"""

from __future__ import annotations

import asyncio
import time

from casework.bus import new_producer
from casework.metrics import BROKER_UP
from casework.settings import ServiceSettings

PROBE_TIMEOUT_S = 3.0


class BrokerHealth:
    def __init__(self, settings: ServiceSettings, interval_s: float = 5.0, wait_s: float = 0.5) -> None:
        self._settings = settings
        self._interval_s = interval_s
        self._wait_s = wait_s
        self.state = "unknown: not checked yet"
        self._checked = float("-inf")
        self._probe: asyncio.Task[None] | None = None

    async def current(self) -> str:
        """The broker's state: `ok`, or why not (`unavailable: <error>`)."""
        if self._probe is None and time.monotonic() - self._checked >= self._interval_s:
            self._probe = asyncio.create_task(self._check(), name="broker-health")
        if self._probe is not None:  # the very first answer waits for its probe: there is nothing older
            first = self._checked == float("-inf")
            await asyncio.wait({self._probe}, timeout=PROBE_TIMEOUT_S if first else self._wait_s)
        return self.state

    async def _check(self) -> None:
        try:
            state = await asyncio.wait_for(_reachable(self._settings), timeout=PROBE_TIMEOUT_S)
        except Exception as exc:
            state = f"unavailable: {type(exc).__name__}"
        self.state, self._checked, self._probe = state, time.monotonic(), None
        BROKER_UP.labels(self._settings.service_name).set(1 if state == "ok" else 0)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)


async def _reachable(settings: ServiceSettings) -> str:
    producer = new_producer(settings)
    try:
        await producer.start()
        return "ok"
    finally:
        await producer.stop()
