"""Consumers of IFR events: the decision that stands on a request is its one commitment on a
high-cost drugs line.

A request can be decided more than once: an urgent chair's action (in effect at once) overturned at
ratification, a reconsideration, a decision after a flawed review. Each later decision carries a higher
`decision_number` and replaces the earlier one's effect: it commits, re-commits, raises, reduces or
releases the same commitment, with the matching contract event in the same transaction. A decision
numbered at or below the last one applied arrives late (a replay, a redelivery after a rebalance) and
changes nothing; the inbox still records it. Unnumbered decisions (older producers) apply in arrival
order.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.events.catalogue.ifr import DecisionMade, DecisionRatified
from casework.identifiers import is_valid_snomed_id
from casework.inbox import Handler, ReceivedEvent
from casework.logs import get_logger
from contract_service.db.models import Commitment, IfrDecisionState
from contract_service.domain.budget_lines import FundingSource
from contract_service.domain.commitments import CommitmentStatus, IfrChange, funds_ifr, ifr_change, is_stale
from contract_service.runtime import ContractUnitOfWork
from contract_service.use_cases.commitments import (
    SYSTEM,
    Approval,
    change_commitment,
    find,
    record_commitment,
    release_commitment,
)

log = get_logger(__name__)


async def _locked_state(uow: ContractUnitOfWork, request_id: uuid.UUID, reference: str) -> IfrDecisionState:
    """The request's decision state, created if new and locked: two deliveries for one request (a
    rebalance can briefly give a partition to two consumers) apply one after the other."""
    await uow.session.execute(
        pg_insert(IfrDecisionState)
        .values(request_id=request_id, reference=reference)
        .on_conflict_do_nothing(index_elements=[IfrDecisionState.request_id])
    )
    state = await uow.session.scalar(
        select(IfrDecisionState)
        .where(IfrDecisionState.request_id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert state is not None
    return state


def _approval(decision: DecisionMade) -> Approval:
    code = decision.treatment_code
    return Approval(
        source=FundingSource.IFR,
        source_id=decision.request_id,
        reference=decision.reference,
        provider_ods=decision.provider_ods,
        patient_ref=decision.patient_ref,
        dmd_id=code if code and is_valid_snomed_id(code) else None,  # an OPCS procedure has no drug line
        entry_id=None,
        amount=decision.approved_cost if decision.approved_cost is not None else Decimal(0),
        valid_from=decision.decided_on,
        financial_year_date=decision.decided_on,
    )


async def record_ifr_decision(uow: ContractUnitOfWork, event: ReceivedEvent[DecisionMade]) -> None:
    """Apply the decision unless a later one already stands: commit, re-commit, adjust or release."""
    decision = event.payload
    state = await _locked_state(uow, decision.request_id, decision.reference)
    if is_stale(state.decision_number, decision.decision_number):
        log.info(
            "stale IFR decision ignored",
            reference=decision.reference,
            decision_number=decision.decision_number,
            applied_number=state.decision_number,
            event_id=str(event.envelope.id),
        )
        return
    if decision.decision_number is not None:
        state.decision_number = decision.decision_number
    state.decision_id, state.outcome = decision.decision_id, decision.outcome
    state.basis, state.decided_on = decision.basis, decision.decided_on

    approval = _approval(decision)
    commitment = await find(uow, FundingSource.IFR, decision.reference)
    change = ifr_change(
        commitment.status if commitment else None,
        commitment.amount if commitment else None,
        funds_ifr(decision.outcome),
        approval.amount,
    )
    event_id = event.envelope.id
    if change == IfrChange.COMMIT:
        commitment = await record_commitment(uow, approval, event_id)
    elif change == IfrChange.RELEASE:
        # What drug returns show was given while the approval stood stays; the rest goes back.
        commitment = await release_commitment(
            uow, approval, CommitmentStatus.DECLINED, ended_on=decision.decided_on, spent=None, event_id=event_id
        )
    elif change in (IfrChange.RECOMMIT, IfrChange.INCREASE, IfrChange.REDUCE):
        assert commitment is not None
        await change_commitment(uow, commitment, amount=approval.amount, event_id=event_id)
    if commitment is not None:
        _rest_on(commitment, decision, state)


def _rest_on(commitment: Commitment, decision: DecisionMade, state: IfrDecisionState) -> None:
    """Note on the commitment the decision it now rests on, and its ratification if that came first."""
    commitment.decision_id, commitment.decision_number = decision.decision_id, decision.decision_number
    commitment.decision_basis, commitment.ratification_due = decision.basis, decision.ratification_due
    ratified = decision.decision_id is not None and state.ratified_decision_id == decision.decision_id
    commitment.ratified_on = state.ratified_on if ratified else None


async def record_ifr_ratification(uow: ContractUnitOfWork, event: ReceivedEvent[DecisionRatified]) -> None:
    """A panel ratified a chair's action: the decision stands unchanged, so no money moves; the
    commitment resting on it is marked ratified."""
    ratified = event.payload
    state = await _locked_state(uow, ratified.request_id, ratified.reference)
    state.ratified_decision_id, state.ratified_on = ratified.decision_id, ratified.ratified_on
    commitment = await find(uow, FundingSource.IFR, ratified.reference)
    if commitment is None or commitment.decision_id != ratified.decision_id:
        return  # a declined chair's action (nothing committed), or its decision has not arrived yet
    commitment.ratified_on = ratified.ratified_on
    uow.audit(
        SYSTEM,
        "update",
        "commitment",
        commitment.id,
        reason=f"chair's action ratified, event {event.envelope.id}",
    )


HANDLERS: dict[str, Handler] = {
    "ifr.decision.made": record_ifr_decision,
    "ifr.decision.ratified": record_ifr_ratification,
}
