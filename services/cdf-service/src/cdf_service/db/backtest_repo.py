"""Stored runs of the forecast backtest: the latest one is what GET /cdf/forecasts/accuracy shows and
whose band calibration the forecaster uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db.models import ForecastBacktest

FIGURES = ("months", "years", "pairs", "history_seconds")


async def store_backtest(session: AsyncSession, doc: dict[str, Any]) -> int:
    """Store a backtest document (`cdf_service.backtest.report.document`); returns its id."""
    values = {
        "seconds": Decimal(str(doc["seconds"])),
        "data": doc["data"],
        "figures": {key: doc[key] for key in FIGURES},
        "calibration": doc["calibration"],
    }
    return int(
        (await session.execute(insert(ForecastBacktest).values(**values).returning(ForecastBacktest.id))).scalar_one()
    )


async def latest_backtest(session: AsyncSession) -> ForecastBacktest | None:
    query = select(ForecastBacktest).order_by(ForecastBacktest.id.desc()).limit(1)
    return await session.scalar(query)
