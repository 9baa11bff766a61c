"""A contract's agreed variations, as stored and as the domain reads them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contract_service.db.models import ContractVariation
from contract_service.domain.contracts import Variation


async def variations_of(session: AsyncSession, contract_id: uuid.UUID) -> list[ContractVariation]:
    """In agreement order."""
    rows = await session.scalars(
        select(ContractVariation)
        .where(ContractVariation.contract_id == contract_id)
        .order_by(ContractVariation.sequence)
    )
    return list(rows.all())


def as_domain(rows: list[ContractVariation]) -> list[Variation]:
    # validated from the stored JSON changes, as a body's are
    stored = ({"sequence": r.sequence, "effective_date": r.effective_date, "changes": r.changes} for r in rows)
    return [Variation.model_validate(variation) for variation in stored]
