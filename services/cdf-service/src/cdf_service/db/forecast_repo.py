"""Marking trust x entry pairs whose forecast must be recomputed (in the writer's transaction)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casework.uow import UnitOfWork
from cdf_service.db.models import ForecastDirty


def _rows(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"provider_ods": p, "entry_id": e} for p, e in sorted(set(pairs))]


async def mark_dirty(session: AsyncSession, pairs: Iterable[tuple[str, str]]) -> None:
    """Queue (provider_ods, entry_id) pairs for the forecaster; committed with the change that caused it."""
    if values := _rows(pairs):
        await session.execute(insert(ForecastDirty), values)


def stage_dirty(uow: UnitOfWork, pairs: Iterable[tuple[str, str]]) -> None:
    """`mark_dirty` written with the unit of work's other staged writes, in the same round trip."""
    uow.stage_rows(ForecastDirty.__table__, _rows(pairs))
