"""The information-governance audit routes (casework.audit_trail) over the contract service's records of
a patient."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.audit_trail import Patient, Records, audit_router
from contract_service.db.models import Commitment, DrugReturnLine


async def patient_records(session: AsyncSession, patient: Patient) -> list[Records]:
    """The commitments funding the patient, and the drug returns (their lines) and validation queries
    that name them. A return's lines are read and audited by return."""
    commitments = await session.scalars(select(Commitment.id).where(Commitment.patient_ref == patient.patient_ref))
    lines = (
        await session.execute(
            select(DrugReturnLine.return_id, DrugReturnLine.query_id).where(
                DrugReturnLine.patient_ref == patient.patient_ref
            )
        )
    ).all()
    returns = sorted({str(line.return_id) for line in lines})
    queries = sorted({str(line.query_id) for line in lines if line.query_id is not None})
    return [
        Records("commitment", [str(i) for i in commitments]),
        Records("drug_return_lines", returns),
        Records("drug_return", returns),
        Records("validation_query", queries),
    ]


router = audit_router(patient_records)
