"""Agreeing a variation of a provider's contract: checked against the contract's year and against every
variation already agreed, stored as the contract's next version, announced as contract.variation.agreed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from casework.auth import Principal
from casework.concurrency import stale_to_412
from casework.problems import field_problem
from contract_service.db.models import Contract, ContractVariation
from contract_service.db.variations import as_domain, variations_of
from contract_service.domain.contracts import (
    Change,
    ContractTerms,
    Variation,
    VariationError,
    effective_in_year,
    terms_as_of,
)
from contract_service.runtime import ContractUnitOfWork


async def agree_variation(
    uow: ContractUnitOfWork,
    contract: Contract,
    *,
    effective_date: date,
    summary: str,
    changes: Sequence[Change],
    agreed_by: Principal,
) -> ContractVariation:
    """The contract's next variation, or a problem at the field that stops it (nothing written)."""
    if not effective_in_year(contract.financial_year, effective_date):
        raise field_problem("effective_date", f"must fall within the contract's year {contract.financial_year}")
    rows = await variations_of(uow.session, contract.id)
    sequence = max((r.sequence for r in rows), default=0) + 1
    new = Variation(sequence=sequence, effective_date=effective_date, changes=tuple(changes))
    _check_replay(ContractTerms.model_validate(contract.base_terms), [*as_domain(rows), new], sequence)
    variation = ContractVariation(
        id=uuid.uuid4(),
        contract_id=contract.id,
        sequence=sequence,
        effective_date=effective_date,
        summary=summary,
        changes=[c.model_dump(mode="json") for c in changes],
        agreed_by=agreed_by.sub,
    )
    uow.session.add(variation)
    contract.updated_at = datetime.now(UTC)  # a new contract version: the ETag moves on
    async with stale_to_412():
        await uow.session.flush()
    await uow.session.refresh(variation)
    uow.emit(
        "contract.variation.agreed",
        subject=str(contract.id),
        payload={
            "contract_id": contract.id,
            "provider_ods": contract.provider_ods,
            "financial_year": contract.financial_year,
            "variation_id": variation.id,
            "sequence": sequence,
            "effective_date": effective_date,
            "summary": summary,
        },
    )
    uow.audit(agreed_by, "vary", "contract", contract.id, detail={"sequence": sequence})
    return variation


def _check_replay(base: ContractTerms, variations: list[Variation], sequence: int) -> None:
    """Every agreed variation must still apply once the new one takes its place in effective order."""
    try:
        terms_as_of(base, variations)
    except VariationError as exc:
        if exc.sequence == sequence:
            raise field_problem(f"changes[{exc.index}]", exc.message) from None
        raise field_problem(
            "effective_date", f"agreed variation {exc.sequence} would no longer apply: {exc.message}"
        ) from None
