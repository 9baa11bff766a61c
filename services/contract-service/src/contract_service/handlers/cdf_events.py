"""Consumers of CDF events: approvals become commitments on the provider's CDF budget."""

from __future__ import annotations

import uuid

from casework.events.catalogue.cdf import ApplicationApproved
from casework.financial_year import financial_year_of
from casework.inbox import ReceivedEvent
from casework.uow import UnitOfWork
from contract_service.db.models import Commitment


async def record_cdf_commitment(uow: UnitOfWork, event: ReceivedEvent) -> None:
    approved = event.payload
    assert isinstance(approved, ApplicationApproved)
    commitment = Commitment(
        id=uuid.uuid4(),
        provider_ods=approved.provider_ods,
        financial_year=financial_year_of(approved.planned_start).financial_year,
        source="cdf",
        source_reference=approved.reference,
        source_id=approved.application_id,
        patient_ref=approved.patient_ref,
        dmd_id=approved.dmd_id,
        amount=approved.expected_cost,
    )
    uow.session.add(commitment)
    await uow.session.flush()
    uow.emit(
        "contract.commitment.recorded",
        subject=str(commitment.id),
        payload={
            "commitment_id": commitment.id,
            "provider_ods": commitment.provider_ods,
            "financial_year": commitment.financial_year,
            "budget_line_id": None,
            "source": "cdf",
            "source_reference": commitment.source_reference,
            "patient_ref": commitment.patient_ref,
            "amount": commitment.amount,
        },
    )
    uow.audit("system:contract", "create", "commitment", commitment.id, reason=f"event {event.envelope.id}")
