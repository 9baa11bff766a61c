"""The at-risk alerts of budget lines: one row per crossing into risk, cleared when the line falls back."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contract_service.db.budgets import LineRow, of_trust
from contract_service.db.models import BudgetAlert
from contract_service.domain.outturn import LineOutturn


async def record_alert(
    session: AsyncSession, provider_ods: str, fy: str, line: LineRow, outturn: LineOutturn, margin: Decimal
) -> uuid.UUID:
    alert = BudgetAlert(
        budget_line_id=line.id,
        provider_ods=provider_ods,
        financial_year=fy,
        line_name=line.line_name,
        budget=outturn.budget,
        forecast_outturn=outturn.forecast_outturn,
        variance=outturn.variance,
        margin_pct=margin,
    )
    session.add(alert)
    await session.flush()
    return alert.id


async def clear_alerts(session: AsyncSession, line_id: uuid.UUID) -> None:
    """The line fell back to or below the margin: its open alert is over (the next crossing opens another)."""
    await session.execute(
        update(BudgetAlert)
        .where(BudgetAlert.budget_line_id == line_id, BudgetAlert.cleared_at.is_(None))
        .values(cleared_at=func.now())
    )


def alerts_query(org: str | None, provider: str | None, fy: str | None, open_only: bool) -> Select[BudgetAlert]:
    """Alerts a reader may see: a provider user only their own trust's (`org`), whatever `provider` says."""
    query = select(BudgetAlert)
    if org is not None:
        query = query.where(of_trust(BudgetAlert.provider_ods, org))
    if provider:
        query = query.where(of_trust(BudgetAlert.provider_ods, provider))
    if fy:
        query = query.where(BudgetAlert.financial_year == fy)
    if open_only:
        query = query.where(BudgetAlert.cleared_at.is_(None))
    return query
