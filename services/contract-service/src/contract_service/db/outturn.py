"""Forecast outturn of a provider's budget lines from stored CDF forecasts and drug-return actuals,
and the at-risk alert (state kept on each line so it fires once per crossing)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.financial_year import financial_year_of
from casework.uow import UnitOfWork
from contract_service.db.budgets import contract_for, line_keys, lines_for, of_trust
from contract_service.db.models import BudgetLine, CdfForecast, Commitment, DrugReturn, DrugReturnLine
from contract_service.domain.budget_lines import FundingSource, choose_line
from contract_service.domain.commitments import CommitmentStatus
from contract_service.domain.contracts import pence
from contract_service.domain.outturn import ZERO, LineOutturn, add_series, line_outturn, risk_step
from contract_service.domain.reconciliation import trust_of
from contract_service.domain.validation_queries import LineFunding

Series = dict[int, tuple[Decimal, Decimal]]
FUNDED = (LineFunding.FUNDED, LineFunding.FUNDED_ON_RESOLUTION)


@dataclass
class LineFigures:
    line: BudgetLine
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


def forecast_series(row: CdfForecast) -> Series:
    """A stored CDF forecast as (actual, forecast) per FY month; an unphased one sits in its as-of month."""
    if row.months:
        return {int(m["fy_month"]): (Decimal(str(m["actual"])), Decimal(str(m["forecast"]))) for m in row.months}
    month = financial_year_of(row.as_of).month
    return {month: (row.actual_to_date, row.forecast_outturn - row.actual_to_date)}


async def _cdf_series_by_line(
    session: AsyncSession, provider: str, fy: str, keys: list[Any]
) -> tuple[dict[uuid.UUID, Series], Decimal]:
    rows = await session.scalars(
        select(CdfForecast).where(of_trust(CdfForecast.provider_ods, provider), CdfForecast.financial_year == fy)
    )
    by_line: dict[uuid.UUID, Series] = {}
    unallocated = ZERO
    for row in rows:
        line_id = choose_line(keys, FundingSource.CDF, row.dmd_id)
        series = forecast_series(row)
        if line_id is None:
            unallocated += sum((a + f for a, f in series.values()), ZERO)
        else:
            by_line[line_id] = add_series(by_line.get(line_id, {}), series)
    return by_line, unallocated


async def _returned(session: AsyncSession, provider: str, fy: str) -> tuple[dict[Any, dict[int, Decimal]], set[int]]:
    """Funded return spend per budget line (None: unallocated) per FY month, and the months returned."""
    spend = await session.execute(
        select(DrugReturnLine.budget_line_id, DrugReturnLine.fy_month, func.sum(DrugReturnLine.cost))
        .where(
            of_trust(DrugReturnLine.provider_ods, provider),
            DrugReturnLine.financial_year == fy,
            DrugReturnLine.funding.in_(FUNDED),
        )
        .group_by(DrugReturnLine.budget_line_id, DrugReturnLine.fy_month)
    )
    by_line: dict[Any, dict[int, Decimal]] = defaultdict(dict)
    for line_id, month, total in spend:
        by_line[line_id][month] = total
    periods = await session.scalars(
        select(DrugReturn.period)
        .distinct()
        .where(of_trust(DrugReturn.provider_ods, provider), DrugReturn.financial_year == fy)
    )
    months = {financial_year_of(datetime.strptime(p, "%Y-%m").date()).month for p in periods}
    return by_line, months


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


async def provider_outturn(session: AsyncSession, provider_ods: str, fy: str, *, lock: bool = False) -> ProviderOutturn:
    provider = trust_of(provider_ods)
    contract = await contract_for(session, provider, fy)
    lines = await lines_for(session, provider, fy, lock=lock)
    keys = line_keys(lines)
    cdf, cdf_unallocated = await _cdf_series_by_line(session, provider, fy, keys)
    returned, returned_months = await _returned(session, provider, fy)
    committed = await _committed(session, provider, fy)
    figures = [
        LineFigures(
            line,
            line_outturn(line.budget, cdf.get(line.id), returned.get(line.id, {}), returned_months),
            committed.get(line.id, ZERO),
        )
        for line in lines
    ]
    unallocated = {
        "cdf_forecast_outturn": pence(cdf_unallocated),
        "returned_actual": pence(sum(returned.get(None, {}).values(), ZERO)),
        "committed": pence(committed.get(None, ZERO)),
    }
    return ProviderOutturn(
        provider,
        fy,
        contract.id if contract else None,
        contract.contract_lead_email if contract else None,
        figures,
        unallocated,
    )


async def evaluate_risk(uow: UnitOfWork, provider_ods: str, fy: str) -> ProviderOutturn:
    """Step every line's at-risk state; publish contract.budget.at_risk on a crossing (in this unit of work)."""
    margin: Decimal = uow.settings.budget_at_risk_margin_pct  # type: ignore[union-attr]
    outturn = await provider_outturn(uow.session, provider_ods, fy, lock=True)
    for item in outturn.lines:
        line, figures = item.line, item.figures
        step = risk_step(line.at_risk, figures.budget, figures.forecast_outturn, margin)
        if step.at_risk != line.at_risk:
            line.at_risk, line.at_risk_changed_at = step.at_risk, datetime.now(UTC)
        if step.alert:
            uow.emit(
                "contract.budget.at_risk",
                subject=str(line.id),
                payload={
                    "provider_ods": outturn.provider_ods,
                    "financial_year": fy,
                    "budget_line_id": line.id,
                    "line_name": line.line_name,
                    "budget": figures.budget,
                    "forecast_outturn": figures.forecast_outturn,
                    "variance": figures.variance,
                    "margin_pct": margin,
                    "contract_lead_email": outturn.contract_lead_email,
                },
            )
    return outturn
