"""Application queries shared by the API, the lapse sweep and the SACT matcher."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db.models import Application, Clinician
from cdf_service.domain.prior_approval import LIVE_STATES

LIVE = tuple(s.value for s in LIVE_STATES)


async def live_approval_id(session: AsyncSession, patient_ref: str, entry_id: str) -> uuid.UUID | None:
    query = select(Application.id).where(
        Application.patient_ref == patient_ref, Application.entry_id == entry_id, Application.status.in_(LIVE)
    )
    return await session.scalar(query)


async def clinician_at(session: AsyncSession, trust_ods: str, gmc: str) -> Clinician | None:
    query = select(Clinician).where(Clinician.trust_ods == trust_ods, Clinician.gmc_number == gmc)
    return await session.scalar(query)


async def lock_applications(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Application]:
    """Rows locked for a state change (the sweep and the matcher may race; the lock orders them)."""
    if not ids:
        return []
    query = select(Application).where(Application.id.in_(ids)).order_by(Application.id).with_for_update()
    return list((await session.scalars(query)).all())


async def applicant_and_live_approval(
    session: AsyncSession, trust_ods: str, gmc: str, patient_ref: str, entry_id: str
) -> tuple[Clinician | None, uuid.UUID | None]:
    """The applying clinician's registration and any live approval for the patient and entry, in one
    round trip (the application hot path)."""
    live = (
        select(Application.id)
        .where(Application.patient_ref == patient_ref, Application.entry_id == entry_id, Application.status.in_(LIVE))
        .limit(1)
        .scalar_subquery()
    )
    query = select(Clinician, live).where(Clinician.trust_ods == trust_ods, Clinician.gmc_number == gmc)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else (None, None)
