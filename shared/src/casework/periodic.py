"""Periodic jobs (deadline sweeps, lapse checks) run as a service's background tasks.

A job must be safe to run on every replica at once: it claims work with row locks or records what
it emitted under a unique key, so running twice emits nothing twice. A failing round is logged and
the next round runs as usual (a `casework.worker.Worker` without backoff).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from casework.settings import ServiceSettings
from casework.worker import Worker

if TYPE_CHECKING:
    from casework.runtime import BackgroundTask, ServiceRuntime


def every(
    # Any: each service passes functions of its own runtime (`ServiceRuntime[IfrSettings]`)
    interval_s: Callable[[ServiceRuntime[Any]], float] | float,
    job: Callable[[ServiceRuntime[Any]], Awaitable[object]],
    name: str,
) -> BackgroundTask:
    """A background task that runs `job(runtime)` now and then every `interval_s` seconds."""

    async def loop(runtime: ServiceRuntime[ServiceSettings]) -> None:
        async def one_round() -> bool:
            await job(runtime)
            return False  # a job does all there is to do: the next round waits the interval

        def interval() -> float:
            return interval_s(runtime) if callable(interval_s) else interval_s

        worker = Worker(
            name,
            one_round,
            service=runtime.settings.service_name,
            poll_s=interval,
            failure_message="periodic job failed",
        )
        await worker.run()

    loop.__name__ = name
    return loop
