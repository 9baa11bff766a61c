"""Periodic jobs (deadline sweeps, lapse checks) run as a service's background tasks.

A job must be safe to run on every replica at once: it claims work with row locks or records what
it emitted under a unique key, so running twice emits nothing twice. A failing round is logged and
the next round runs as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from casework.logs import get_logger
from casework.settings import ServiceSettings

if TYPE_CHECKING:
    from casework.runtime import BackgroundTask, ServiceRuntime

log = get_logger(__name__)


def every(
    # Any: each service passes functions of its own runtime (`ServiceRuntime[IfrSettings]`)
    interval_s: Callable[[ServiceRuntime[Any]], float] | float,
    job: Callable[[ServiceRuntime[Any]], Awaitable[object]],
    name: str,
) -> BackgroundTask:
    """A background task that runs `job(runtime)` now and then every `interval_s` seconds."""

    async def loop(runtime: ServiceRuntime[ServiceSettings]) -> None:
        while True:
            try:
                await job(runtime)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("periodic job failed", job=name, error=repr(exc))
            await asyncio.sleep(interval_s(runtime) if callable(interval_s) else interval_s)

    loop.__name__ = name
    return loop


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
