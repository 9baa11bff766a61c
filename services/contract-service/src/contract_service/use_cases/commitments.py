"""Recording commitments from approvals and releasing what ended approvals did not spend.

One commitment per source reference (unique in the database, and looked up first): a redelivered
or repeated approval updates nothing twice. A release that arrives before its approval (events of
different aggregates are not ordered) is kept as a commitment known only from its release, and the
approval, when it comes, fills in the approved amount without committing it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from casework.financial_year import financial_year_of
from contract_service.db.budgets import line_keys, lines_for
from contract_service.db.models import Commitment, DrugReturnLine
from contract_service.db.outturn import FUNDED
from contract_service.domain.budget_lines import FundingSource, choose_line
from contract_service.domain.commitments import CommitmentStatus, release
from contract_service.domain.contracts import pence
from contract_service.runtime import ContractUnitOfWork

SYSTEM = "system:contract"


@dataclass(frozen=True)
class Approval:
    source: FundingSource
    source_id: uuid.UUID
    reference: str
    provider_ods: str
    patient_ref: str
    dmd_id: str | None
    entry_id: str | None
    amount: Decimal
    valid_from: date | None
    financial_year_date: date  # the day that decides which year's budget carries it


async def find(uow: ContractUnitOfWork, source: FundingSource, reference: str) -> Commitment | None:
    return await uow.session.scalar(
        select(Commitment).where(Commitment.source == source, Commitment.source_reference == reference)
    )


async def _line_for(uow: ContractUnitOfWork, approval: Approval, fy: str) -> uuid.UUID | None:
    keys = line_keys(await lines_for(uow.session, approval.provider_ods, fy))
    return choose_line(keys, approval.source, approval.dmd_id)


async def record_commitment(uow: ContractUnitOfWork, approval: Approval, event_id: object) -> Commitment:
    """Commit an approval once; a repeated approval changes nothing (a superseding IFR decision goes
    through `change_commitment`)."""
    fy = financial_year_of(approval.financial_year_date).financial_year
    existing = await find(uow, approval.source, approval.reference)
    if existing is not None and existing.approved:
        return existing
    if existing is not None:  # released before its approval arrived: keep the release, record the approval
        existing.approved, existing.original_amount, existing.valid_from = True, approval.amount, approval.valid_from
        uow.audit(SYSTEM, "update", "commitment", existing.id, reason=f"approval after release, event {event_id}")
        return existing
    commitment = Commitment(
        id=uuid.uuid4(),
        provider_ods=approval.provider_ods,
        financial_year=fy,
        source=approval.source,
        source_reference=approval.reference,
        source_id=approval.source_id,
        patient_ref=approval.patient_ref,
        dmd_id=approval.dmd_id,
        entry_id=approval.entry_id,
        budget_line_id=await _line_for(uow, approval, fy),
        original_amount=approval.amount,
        amount=approval.amount,
        released_amount=Decimal(0),
        status=CommitmentStatus.COMMITTED,
        approved=True,
        valid_from=approval.valid_from,
    )
    uow.session.add(commitment)
    await uow.session.flush()
    _emit_recorded(uow, commitment, None)
    uow.audit(SYSTEM, "create", "commitment", commitment.id, reason=f"event {event_id}")
    return commitment


def _which_commitment(commitment: Commitment) -> dict[str, Any]:
    """What every commitment event says about the commitment it is about."""
    return {
        "commitment_id": commitment.id,
        "provider_ods": commitment.provider_ods,
        "financial_year": commitment.financial_year,
        "budget_line_id": commitment.budget_line_id,
        "source": commitment.source,
        "source_reference": commitment.source_reference,
    }


def _emit_recorded(uow: ContractUnitOfWork, commitment: Commitment, previous: Decimal | None) -> None:
    uow.emit(
        "contract.commitment.recorded",
        subject=str(commitment.id),
        payload={
            **_which_commitment(commitment),
            "patient_ref": commitment.patient_ref,
            "amount": pence(commitment.amount),
            "previous_amount": None if previous is None else pence(previous),
        },
    )


def _emit_released(uow: ContractUnitOfWork, commitment: Commitment, reason: str, released: Decimal) -> None:
    uow.emit(
        "contract.commitment.released",
        subject=str(commitment.id),
        payload={
            **_which_commitment(commitment),
            "reason": reason,
            "released_amount": pence(released),
            "remaining_amount": pence(commitment.amount),
        },
    )


async def change_commitment(
    uow: ContractUnitOfWork, commitment: Commitment, *, amount: Decimal, event_id: object
) -> None:
    """A superseding IFR decision funds `amount`: raise or reduce the commitment to it, or fund it again
    after a decline (the row is the same; its events say what moved)."""
    previous = commitment.amount if commitment.status == CommitmentStatus.COMMITTED else Decimal(0)
    if commitment.status == CommitmentStatus.DECLINED:
        commitment.status, commitment.valid_until = CommitmentStatus.COMMITTED, None
    commitment.original_amount = commitment.amount = amount
    if amount < previous:
        commitment.released_amount += previous - amount
        _emit_released(uow, commitment, "reduced", previous - amount)
    else:
        _emit_recorded(uow, commitment, previous)
    uow.audit(SYSTEM, "update", "commitment", commitment.id, reason=f"decision superseded, event {event_id}")


async def spent_against(uow: ContractUnitOfWork, commitment_id: uuid.UUID) -> Decimal:
    """Funded drug-return spend covered by this approval so far."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(DrugReturnLine.cost), 0)).where(
            DrugReturnLine.authority_id == commitment_id, DrugReturnLine.funding.in_(FUNDED)
        )
    )
    return Decimal(total or 0)  # coalesced to 0 already: `or` is for the type checker


async def release_commitment(
    uow: ContractUnitOfWork,
    approval: Approval,
    status: CommitmentStatus,
    *,
    ended_on: date,
    spent: Decimal | None,
    event_id: object,
) -> Commitment:
    """Reduce the commitment to what was spent (None: what the drug returns show) and end its authority."""
    commitment = await find(uow, approval.source, approval.reference)
    if commitment is None:
        commitment = await record_commitment(uow, approval, event_id)
        commitment.approved = False  # known from its release only, until the approval arrives
    if commitment.status != CommitmentStatus.COMMITTED:
        return commitment  # already ended: a second end changes nothing
    if spent is None:
        spent = await spent_against(uow, commitment.id)
    result = release(commitment.amount, status, spent)
    commitment.status, commitment.amount = result.status, result.amount
    commitment.released_amount += result.released
    commitment.valid_until = ended_on
    _emit_released(uow, commitment, status.value, result.released)
    uow.audit(SYSTEM, "release", "commitment", commitment.id, reason=f"{status.value}, event {event_id}")
    return commitment
