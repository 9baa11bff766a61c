"""Stopping a Kafka client, or a background task, within a bounded time.

On Python 3.11 `asyncio.wait_for(x, timeout)` waits for `x` to finish being cancelled, so a client
whose `stop()` swallows or defers cancellation (aiokafka's group coordinator can, while it leaves a
group or waits on a dead broker) keeps a service's shutdown waiting for ever. `asyncio.wait` returns
at the timeout whatever the awaitable does; what has not finished by then is cancelled and left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable

from casework.logs import get_logger

log = get_logger(__name__)


async def finish_within(step: Awaitable[object], timeout_s: float, what: str) -> bool:
    """Await `step` for at most `timeout_s`; True if it finished (an exception it raised is logged)."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        log.warning("gave up waiting on shutdown", step=what, timeout_s=timeout_s)
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.debug("shutdown step failed", step=what, error=repr(error))
    return True


async def cancel_within(tasks: Iterable[asyncio.Task[object]], timeout_s: float) -> None:
    """Cancel the tasks and wait for them at most `timeout_s`; names the ones that would not stop."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=timeout_s)
    if stuck:
        log.warning("tasks did not stop", tasks=sorted(t.get_name() for t in stuck), timeout_s=timeout_s)
