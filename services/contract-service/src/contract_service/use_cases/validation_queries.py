"""A validation query's steps after it is raised: the provider's response, the commissioner's resolution,
and on a final state the funding of the withheld lines, announced to finance as
contract.validation_query.resolved (raising one is part of storing a return: `use_cases.drug_returns`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from casework.auth import Principal
from casework.concurrency import stale_to_412
from contract_service.db.models import DrugReturnLine, ValidationQuery
from contract_service.domain.validation_queries import (
    FUNDED_OUTCOMES,
    QUERY_MACHINE,
    funded_adjustment,
    is_resolved,
    line_funding_after,
)
from contract_service.runtime import ContractUnitOfWork
from contract_service.use_cases.budget_risk import evaluate_risk


def record_response(
    query: ValidationQuery, evidence_text: str | None, evidence_reference: str | None, *, by: Principal
) -> None:
    """The provider's answer to the challenge, kept with the query before its step is taken."""
    query.evidence_text, query.evidence_reference = evidence_text, evidence_reference
    query.responded_by, query.responded_at = by.sub, datetime.now(UTC)


async def take_step(uow: ContractUnitOfWork, query: ValidationQuery, action: str, *, by: Principal) -> None:
    """The query's next state by `action` (the transition table refuses one its state does not allow);
    a final state settles the lines, and funded spend moves the outturn, so the at-risk check runs."""
    query.status = QUERY_MACHINE.next_state(query.status, action)
    if is_resolved(query.status):
        await _settle(uow, query, by)
    async with stale_to_412():
        await uow.session.flush()
    if query.status in FUNDED_OUTCOMES:
        await evaluate_risk(uow, query.provider_ods, query.financial_year)
    uow.audit(by, action, "validation_query", query.id)


async def _settle(uow: ContractUnitOfWork, query: ValidationQuery, by: Principal) -> None:
    """A final state: the withheld lines are funded or not, and the event tells finance by how much."""
    query.resolved_by, query.resolved_at = by.sub, datetime.now(UTC)
    query.funded_adjustment = funded_adjustment(query.status, query.challenged_value)
    await uow.session.execute(
        update(DrugReturnLine)
        .where(DrugReturnLine.query_id == query.id)
        .values(funding=line_funding_after(query.status))
    )
    uow.emit(
        "contract.validation_query.resolved",
        subject=str(query.id),
        payload={
            "query_id": query.id,
            "reference": query.reference,
            "provider_ods": query.provider_ods,
            "period": query.period,
            "outcome": query.status,
            "funded_adjustment": query.funded_adjustment,
        },
    )
