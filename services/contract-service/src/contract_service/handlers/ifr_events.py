"""Consumers of IFR events: a funding decision becomes a commitment on a high-cost drugs line."""

from __future__ import annotations

from decimal import Decimal

from casework.events.catalogue.ifr import DecisionMade
from casework.identifiers import is_valid_snomed_id
from casework.inbox import ReceivedEvent
from casework.uow import UnitOfWork
from contract_service.db.commitments import Approval, find, record_commitment, release_commitment
from contract_service.domain.budget_lines import FundingSource
from contract_service.domain.commitments import CommitmentStatus, funds_ifr


async def record_ifr_decision(uow: UnitOfWork, event: ReceivedEvent) -> None:
    """Approved (with or without conditions): commit the approved cost. Declined after an earlier
    approval (reconsideration / review): release it. A decline with nothing committed changes nothing."""
    decision = event.payload
    assert isinstance(decision, DecisionMade)
    code = decision.treatment_code
    approval = Approval(
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
    if funds_ifr(decision.outcome):
        await record_commitment(uow, approval, event.envelope.id)
    elif await find(uow, FundingSource.IFR, decision.reference) is not None:
        await release_commitment(
            uow, approval, CommitmentStatus.DECLINED, decision.decided_on, Decimal(0), event.envelope.id
        )


HANDLERS = {"ifr.decision.made": record_ifr_decision}
