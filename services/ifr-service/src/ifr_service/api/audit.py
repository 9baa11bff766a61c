"""The information-governance audit routes (casework.audit_trail) over IFR's records of a patient."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.audit_trail import Patient, Records, audit_router
from ifr_service.db.models import IfrRequest


async def patient_records(session: AsyncSession, patient: Patient) -> list[Records]:
    """The patient's cases: by patient_ref once submitted, by NHS number while still a draft. Documents,
    letters, notes and history are audited under their case."""
    ids = await session.scalars(
        select(IfrRequest.id).where(
            or_(IfrRequest.patient_ref == patient.patient_ref, IfrRequest.nhs_number == patient.nhs_number)
        )
    )
    return [Records("ifr_request", [str(i) for i in ids], listed_as=("ifr_requests",))]


router = audit_router(patient_records)
