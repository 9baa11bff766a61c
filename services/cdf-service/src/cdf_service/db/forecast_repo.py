"""Marking trust x entry pairs whose forecast must be recomputed (in the writer's transaction)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db.models import ForecastDirty


async def mark_dirty(session: AsyncSession, pairs: Iterable[tuple[str, str]]) -> None:
    """Queue (provider_ods, entry_id) pairs for the forecaster; committed with the change that caused it."""
    values = [{"provider_ods": p, "entry_id": e} for p, e in sorted(set(pairs))]
    if values:
        await session.execute(insert(ForecastDirty), values)
