"""One trust's SACT matching and forecasts are changed by one transaction at a time.

A transaction-scoped advisory lock per trust, taken before reading: the SACT matcher (one trust per
batch) and the forecaster (the trusts of its round, in order) both take it, so whichever comes second
reads what the first committed. Two submissions of a trust processed side by side never match against
a history missing the other's rows, and a forecast is never stored from data older than one stored
before it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('cdf-trust:' || t)) FROM unnest(CAST(:trusts AS text[])) AS t")


async def lock_trusts(session: AsyncSession, trusts: Iterable[str]) -> None:
    """Wait for, then hold until commit, the lock of each trust (3-character ODS code), in code order so
    two transactions taking several never wait on each other in a circle (unnest keeps array order)."""
    await session.execute(_LOCK, {"trusts": sorted(set(trusts))})
