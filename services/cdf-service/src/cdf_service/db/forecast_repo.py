"""Marking trust x entry pairs whose forecast must be recomputed (in the writer's transaction).

Marking also wakes this process's forecaster once the writer commits, so a change is re-forecast at
once rather than at its next poll (FORECAST_INTERVAL_S, which still covers marks made by replicas)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert

from casework.db import table_of
from cdf_service.db.models import ForecastDirty
from cdf_service.runtime import CdfUnitOfWork

FORECASTER = "cdf-forecaster"  # the background worker's wake signal (ServiceRuntime.wake_signal)


def _rows(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"provider_ods": p, "entry_id": e} for p, e in sorted(set(pairs))]


async def mark_dirty(uow: CdfUnitOfWork, pairs: Iterable[tuple[str, str]]) -> None:
    """Queue (provider_ods, entry_id) pairs for the forecaster; committed with the change that caused it."""
    if values := _rows(pairs):
        await uow.session.execute(insert(ForecastDirty), values)
        uow.wake_after_commit(FORECASTER)


def stage_dirty(uow: CdfUnitOfWork, pairs: Iterable[tuple[str, str]]) -> None:
    """`mark_dirty` written with the unit of work's other staged writes, in the same round trip."""
    if values := _rows(pairs):
        uow.stage_rows(table_of(ForecastDirty), values)
        uow.wake_after_commit(FORECASTER)
