"""Forecast outturn of a provider's budget lines from stored CDF forecasts and drug-return actuals (the
at-risk step that uses them: `use_cases.budget_risk`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import String, any_, bindparam, func, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from casework.direct import DirectStatement, fetch
from contract_service.db.budgets import LineRow, contract_for, line_keys, line_rows, of_trust
from contract_service.db.models import CdfForecast, Commitment, Contract, DrugReturnLine
from contract_service.domain.budget_lines import FundingSource, choose_line
from contract_service.domain.commitments import CommitmentStatus
from contract_service.domain.contracts import pence
from contract_service.domain.outturn import (
    ZERO,
    LineOutturn,
    Series,
    WhatIf,
    add_series,
    forecast_series,
    line_outturn,
    what_if,
)
from contract_service.domain.reconciliation import trust_of
from contract_service.domain.validation_queries import LineFunding

FUNDED = (LineFunding.FUNDED, LineFunding.FUNDED_ON_RESOLUTION)


@dataclass
class LineFigures:
    line: LineRow
    figures: LineOutturn
    committed: Decimal


@dataclass
class ProviderOutturn:
    provider_ods: str
    financial_year: str
    contract_id: uuid.UUID | None
    contract_lead_email: str | None
    lines: list[LineFigures]
    unallocated: dict[str, Decimal] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Decimal]:
        budget = sum((x.figures.budget for x in self.lines), ZERO)
        actual = sum((x.figures.actual_to_date for x in self.lines), ZERO)
        outturn = sum((x.figures.forecast_outturn for x in self.lines), ZERO)
        return {"budget": budget, "actual_to_date": actual, "forecast_outturn": outturn, "variance": outturn - budget}


@dataclass
class _Sources:
    """The stored CDF forecasts and the funded drug-return spend of one provider-year."""

    forecasts: list[tuple[Any, ...]] = field(default_factory=list)  # dmd_id, months, as_of, actual, outturn
    returned: dict[Any, dict[int, Decimal]] = field(default_factory=lambda: defaultdict(dict))  # line -> month
    returned_months: set[int] = field(default_factory=set)  # a stored return always has a line in its month


def _sources_statement() -> Any:
    forecast, spend = CdfForecast.__table__.c, DrugReturnLine.__table__.c
    funded_values = bindparam("funded", [str(f) for f in FUNDED], type_=ARRAY(String))  # not IN: compiled once
    funded = func.coalesce(func.sum(spend.cost).filter(spend.funding == any_(funded_values)), 0)
    forecasts = select(
        literal("f").label("source"),
        forecast.dmd_id,
        forecast.months,
        forecast.as_of,
        forecast.actual_to_date,
        forecast.forecast_outturn,
        null().label("budget_line_id"),
        null().label("fy_month"),
    ).where(forecast.provider_ods.startswith(bindparam("trust")), forecast.financial_year == bindparam("fy"))
    returned = (
        select(literal("r"), null(), null(), null(), funded, null(), spend.budget_line_id, spend.fy_month)
        .where(spend.provider_ods.startswith(bindparam("trust")), spend.financial_year == bindparam("fy"))
        .group_by(spend.budget_line_id, spend.fy_month)
    )
    return union_all(forecasts, returned)


_SOURCES = DirectStatement(_sources_statement())  # built once and run on the driver: every forecast event reads it


async def _sources(session: AsyncSession, provider: str, fy: str) -> _Sources:
    """Forecasts and funded return spend in one round trip."""
    found = _Sources()
    for source, dmd_id, months, as_of, amount, outturn, line_id, month in await fetch(
        session, _SOURCES, {"trust": trust_of(provider), "fy": fy}
    ):
        if source == "f":
            found.forecasts.append((dmd_id, months, as_of, amount, outturn))
        else:
            found.returned[line_id][month] = Decimal(amount)
            found.returned_months.add(month)
    return found


def _cdf_series_by_line(forecasts: list[tuple[Any, ...]], keys: list[Any]) -> tuple[dict[uuid.UUID, Series], Decimal]:
    by_line: dict[uuid.UUID, Series] = {}
    unallocated = ZERO
    for dmd_id, *stored in forecasts:
        line_id = choose_line(keys, FundingSource.CDF, dmd_id)
        series = forecast_series(*stored)
        if line_id is None:
            unallocated += sum((a + f for a, f in series.values()), ZERO)
        else:
            by_line[line_id] = add_series(by_line.get(line_id, {}), series)
    return by_line, unallocated


async def _committed(session: AsyncSession, provider: str, fy: str) -> dict[Any, Decimal]:
    rows = await session.execute(
        select(Commitment.budget_line_id, func.sum(Commitment.amount))
        .where(
            of_trust(Commitment.provider_ods, provider),
            Commitment.financial_year == fy,
            Commitment.status == CommitmentStatus.COMMITTED,
        )
        .group_by(Commitment.budget_line_id)
    )
    return {line_id: total for line_id, total in rows}


@dataclass
class LineOutturns:
    lines: list[LineRow]
    by_line: dict[uuid.UUID, LineOutturn]
    cdf_unallocated: Decimal
    returned_unallocated: Decimal


async def figures_of(session: AsyncSession, provider: str, fy: str, *, lock: bool) -> LineOutturns:
    lines = await line_rows(session, provider, fy, lock=lock)
    sources = await _sources(session, provider, fy)
    cdf, cdf_unallocated = _cdf_series_by_line(sources.forecasts, line_keys(lines))
    returned, months = sources.returned, sources.returned_months
    by_line = {
        line.id: line_outturn(line.budget, cdf.get(line.id), returned.get(line.id, {}), months) for line in lines
    }
    return LineOutturns(lines, by_line, cdf_unallocated, sum(returned.get(None, {}).values(), ZERO))


async def provider_outturn(session: AsyncSession, provider_ods: str, fy: str) -> ProviderOutturn:
    """The figures as one snapshot shows them, read on a connection of their own (REPEATABLE READ,
    read only). They take several statements, and under the session's READ COMMITTED each sees what
    committed before it: a forecast committed between the read of the lines and the read of the
    figures showed its new outturn on a line still marked not at risk."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as connection:
        snapshot = await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with AsyncSession(bind=snapshot, expire_on_commit=False) as reader, reader.begin():
            return await _provider_outturn(reader, provider_ods, fy)


async def national_outturn(session: AsyncSession, fy: str) -> list[ProviderOutturn]:
    """Every provider with a contract that year, read in one snapshot so the national figures add up
    to one moment (the same isolation as `provider_outturn`)."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as connection:
        snapshot = await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with AsyncSession(bind=snapshot, expire_on_commit=False) as reader, reader.begin():
            providers = await reader.scalars(
                select(Contract.provider_ods).where(Contract.financial_year == fy).order_by(Contract.provider_ods)
            )
            return [await _provider_outturn(reader, ods, fy) for ods in list(providers)]


async def _provider_outturn(session: AsyncSession, provider_ods: str, fy: str) -> ProviderOutturn:
    provider = trust_of(provider_ods)
    contract = await contract_for(session, provider, fy)
    figures = await figures_of(session, provider, fy, lock=False)
    committed = await _committed(session, provider, fy)
    return ProviderOutturn(
        provider,
        fy,
        contract.id if contract else None,
        contract.contract_lead_email if contract else None,
        [LineFigures(line, figures.by_line[line.id], committed.get(line.id, ZERO)) for line in figures.lines],
        {
            "cdf_forecast_outturn": pence(figures.cdf_unallocated),
            "returned_actual": pence(figures.returned_unallocated),
            "committed": pence(committed.get(None, ZERO)),
        },
    )


async def commitment_what_if(
    session: AsyncSession,
    provider_ods: str,
    fy: str,
    source: FundingSource,
    dmd_id: str | None,
    amount: Decimal,
    margin: Decimal,
) -> tuple[LineFigures | None, WhatIf | None]:
    """The line a commitment would fall on (chosen as `record_commitment` chooses it) and its outturn
    with the commitment added; (None, None) when no line fits. Read in one read-only snapshot: nothing
    is written."""
    outturn = await provider_outturn(session, provider_ods, fy)
    line_id = choose_line(line_keys([x.line for x in outturn.lines]), source, dmd_id)
    line = next((x for x in outturn.lines if x.line.id == line_id), None)
    if line is None:
        return None, None
    figures = line.figures
    return line, what_if(figures.budget, figures.forecast_outturn, line.line.at_risk, amount, margin)
