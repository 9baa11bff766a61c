"""The information-governance audit routes (casework.audit_trail) over CDF's records of a patient."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.audit_trail import Patient, Records, audit_router
from cdf_service.db.models import Application, UnapprovedUse


async def patient_records(session: AsyncSession, patient: Patient) -> list[Records]:
    """The patient's applications (their treatments are listed by application id) and unapproved uses.
    A SACT submission holds many patients' rows and is audited as a whole, so it is not counted here."""
    applications = [
        str(i)
        for i in await session.scalars(select(Application.id).where(Application.patient_ref == patient.patient_ref))
    ]
    uses = [
        str(i)
        for i in await session.scalars(select(UnapprovedUse.id).where(UnapprovedUse.patient_ref == patient.patient_ref))
    ]
    return [
        Records("cdf_application", applications, listed_as=("cdf_treatment",)),
        Records("cdf_unapproved_use", uses),
    ]


router = audit_router(patient_records)
