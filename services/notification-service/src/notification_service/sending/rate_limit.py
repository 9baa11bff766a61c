"""The relay rate limit, shared by every sender replica: one token bucket per relay account in PostgreSQL.

NHSmail's sending limit is per application account, however many processes send as it. Each
replica reserves slots from the account's row in `relay_rate_buckets` with one statement that refills
the bucket for the time since it was last touched (capped at the burst), takes the slots, and answers
what is left; a negative answer is slots owed, and each slot's wait follows from it
(`domain.delivery.slot_waits`), so a sender sleeps exactly until its slot rather than polling.

Time is PostgreSQL's alone: the statement reads `clock_timestamp()` once and the stored time never
goes back, so replicas on machines whose clocks differ (or a Python clock against the database's) cannot
make the bucket refill too fast or never. A replica reserves at most a burst's worth at a time, only
what its batch still has to send, and drops slots it did not use (a batch cut short) or came too late
for (a stall), so a replica that dies or stalls costs the others at most one burst of capacity.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_service.domain.delivery import slot_waits

_RESERVE = text(
    """
    WITH clock AS MATERIALIZED (SELECT clock_timestamp() AS now)
    INSERT INTO relay_rate_buckets AS b (account, tokens, refilled_at)
    SELECT :account, CAST(:burst AS double precision) - :n, now FROM clock
    ON CONFLICT (account) DO UPDATE SET
        tokens = least(
            CAST(:burst AS double precision),
            b.tokens + greatest(CAST(extract(epoch FROM excluded.refilled_at - b.refilled_at) AS double precision), 0)
                * CAST(:rate AS double precision)
        ) - :n,
        refilled_at = greatest(excluded.refilled_at, b.refilled_at)
    RETURNING tokens
    """
)


class SharedRateLimit:
    """Slots to send to one relay account, reserved from the bucket all replicas share."""

    def __init__(self, engine: AsyncEngine, account: str, rate_per_s: float, burst: float) -> None:
        self.engine, self.account = engine, account
        self.rate_per_s, self.burst = rate_per_s, burst
        self._slots: deque[float] = deque()  # time.monotonic() at which each reserved slot may be used

    @property
    def grace_s(self) -> float:
        """How late a reserved slot may still be used. A slot is the bucket's token at its time: used
        much later (the process stalled), it would go out together with the tokens the bucket has
        refilled since, so the account would see more than a burst at once. Half an interval (at least
        20 ms, so a burst sent back to back keeps its slots) adds at most that much to any window."""
        return max(0.5 / self.rate_per_s, 0.02)

    async def wait_for_slot(self, wanted: int) -> None:
        """Until the next reserved slot (reserving up to `wanted`, at most a burst, when none is left).
        Slots the process is too late for are dropped, and the next are reserved afresh."""
        while True:
            if not self._slots:
                await self._reserve(min(max(wanted, 1), max(1, math.floor(self.burst))))
            wait = self._slots[0] - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                wait = self._slots[0] - time.monotonic()
            if -wait <= self.grace_s:
                self._slots.popleft()
                return
            self.drop_unused()

    def drop_unused(self) -> None:
        """Forget the slots reserved and not used (a batch cut short, or a stall made them late). They are
        not given back: the bucket counted them at their times, and a token returned now would let a
        slot go out beside those other replicas hold after it (given back, two replicas back from a stall
        sent 8 in 0.47 s at 10/s with a burst of 2). Capacity is lost, never exceeded."""
        self._slots.clear()

    async def _reserve(self, n: int) -> None:
        params = {"account": self.account, "burst": self.burst, "rate": self.rate_per_s, "n": n}
        async with self.engine.begin() as connection:
            left = float((await connection.execute(_RESERVE, params)).scalar_one())
        # the waits count from the statement's clock; the answer is here a moment later, so slots are
        # taken a little late (never early) across replicas
        answered = time.monotonic()
        self._slots.extend(answered + wait for wait in slot_waits(left, n, self.rate_per_s))
