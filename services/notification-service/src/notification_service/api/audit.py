"""The information-governance audit routes (casework.audit_trail) over the mails about a patient."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.audit_trail import Patient, Records, audit_router
from notification_service.db.models import Notification


async def patient_records(session: AsyncSession, patient: Patient) -> list[Records]:
    """The notifications whose causing event named the patient (its patient_ref). Mails caused by events
    that name no patient, and those queued before notifications kept it, are not found."""
    ids = await session.scalars(select(Notification.id).where(Notification.patient_ref == patient.patient_ref))
    return [Records("notification", [str(i) for i in ids])]


router = audit_router(patient_records)
