"""Loading a provider's contract and budget lines, and placing unallocated money once a line exists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from contract_service.db.models import BudgetLine, Commitment, Contract, DrugReturnLine
from contract_service.domain.budget_lines import BudgetKind, FundingSource, LineKey, choose_line
from contract_service.domain.reconciliation import trust_of


async def contract_for(session: AsyncSession, provider_ods: str, financial_year: str) -> Contract | None:
    return await session.scalar(
        select(Contract).where(
            Contract.provider_ods == trust_of(provider_ods), Contract.financial_year == financial_year
        )
    )


async def lines_for(session: AsyncSession, provider_ods: str, financial_year: str) -> list[LineRow]:
    """The budget lines of the provider's contract for the year."""
    return await line_rows(session, provider_ods, financial_year, lock=False)


@dataclass(frozen=True)
class LineRow:
    """What outturn and risk need of a budget line, read without the ORM (it is read on every event)."""

    id: uuid.UUID
    kind: str
    dmd_id: str | None
    category: str | None
    line_name: str
    budget: Decimal
    at_risk: bool


# Built once: these run for every forecast event (construction and ORM execution cost CPU).
_LINES = (
    select(*(BudgetLine.__table__.c[f.name] for f in fields(LineRow)))
    .where(
        BudgetLine.__table__.c.provider_ods == bindparam("trust"),
        BudgetLine.__table__.c.financial_year == bindparam("fy"),
    )
    .order_by(BudgetLine.__table__.c.created_at, BudgetLine.__table__.c.id)
)
_LINES_LOCKED = _LINES.with_for_update()


async def line_rows(session: AsyncSession, provider_ods: str, financial_year: str, *, lock: bool) -> list[LineRow]:
    """`lock` (FOR UPDATE) serialises risk evaluation of one provider's lines."""
    connection = await session.connection()
    rows = await connection.execute(
        _LINES_LOCKED if lock else _LINES, {"trust": trust_of(provider_ods), "fy": financial_year}
    )
    return [LineRow(*row) for row in rows]


async def set_at_risk(session: AsyncSession, line_id: uuid.UUID, at_risk: bool) -> None:
    await session.execute(
        update(BudgetLine)
        .where(BudgetLine.id == line_id)
        .values(at_risk=at_risk, at_risk_changed_at=func.now(), version=BudgetLine.version + 1)
    )


def line_keys(lines: Sequence[BudgetLine | LineRow]) -> list[LineKey]:
    return [LineKey(line.id, BudgetKind(line.kind), line.dmd_id, line.category) for line in lines]


def of_trust(column: ColumnElement[str] | InstrumentedAttribute[str], provider_ods: str) -> ColumnElement[bool]:
    """Rows of the trust and any of its sites (RRV, RRV03 ...)."""
    return column.startswith(trust_of(provider_ods))


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
