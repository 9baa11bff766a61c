"""Loading a provider's contract and budget lines, and placing unallocated money once a line exists."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contract_service.db.models import BudgetLine, Commitment, Contract, DrugReturnLine
from contract_service.domain.budget_lines import BudgetKind, FundingSource, LineKey, choose_line
from contract_service.domain.reconciliation import trust_of


async def contract_for(session: AsyncSession, provider_ods: str, financial_year: str) -> Contract | None:
    return await session.scalar(
        select(Contract).where(
            Contract.provider_ods == trust_of(provider_ods), Contract.financial_year == financial_year
        )
    )


async def lines_for(
    session: AsyncSession, provider_ods: str, financial_year: str, *, lock: bool = False
) -> list[BudgetLine]:
    """The budget lines of the provider's contract for the year; `lock` serialises risk evaluation."""
    query = (
        select(BudgetLine)
        .where(BudgetLine.provider_ods == trust_of(provider_ods), BudgetLine.financial_year == financial_year)
        .order_by(BudgetLine.created_at, BudgetLine.id)
    )
    if lock:
        query = query.with_for_update()
    return list((await session.scalars(query)).all())


def line_keys(lines: Sequence[BudgetLine]) -> list[LineKey]:
    return [LineKey(line.id, BudgetKind(line.kind), line.dmd_id, line.category) for line in lines]


def of_trust(column: object, provider_ods: str) -> object:
    """Rows of the trust and any of its sites (RRV, RRV03 ...)."""
    return column.startswith(trust_of(provider_ods))  # type: ignore[attr-defined]


async def allocate_unallocated(session: AsyncSession, provider_ods: str, financial_year: str) -> int:
    """After a new budget line: put commitments and return spend that had no line on the right one."""
    keys = line_keys(await lines_for(session, provider_ods, financial_year))
    placed = 0
    commitments = await session.scalars(
        select(Commitment).where(
            of_trust(Commitment.provider_ods, provider_ods),
            Commitment.financial_year == financial_year,
            Commitment.budget_line_id.is_(None),
        )
    )
    for commitment in commitments:
        commitment.budget_line_id = choose_line(keys, FundingSource(commitment.source), commitment.dmd_id)
        placed += commitment.budget_line_id is not None
    spend = await session.scalars(
        select(DrugReturnLine).where(
            of_trust(DrugReturnLine.provider_ods, provider_ods),
            DrugReturnLine.financial_year == financial_year,
            DrugReturnLine.budget_line_id.is_(None),
        )
    )
    for line in spend:
        line.budget_line_id = choose_line(keys, FundingSource(line.funding_source), line.dmd_id)
        placed += line.budget_line_id is not None
    return placed
