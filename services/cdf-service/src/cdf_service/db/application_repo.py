"""Application queries shared by the API, the lapse sweep and the SACT matcher."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from casework.db import table_of
from casework.idempotency import StoredLookup
from cdf_service.db.models import Application, Clinician
from cdf_service.domain.prior_approval import LIVE_STATES
from cdf_service.runtime import CdfUnitOfWork

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


@dataclass(frozen=True)
class Applicant:
    """What deciding an application needs of the applying clinician's registration."""

    id: uuid.UUID
    status: str
    gmc_number: str
    email: str


@dataclass(frozen=True)
class ApplicationContext:
    applicant: Applicant | None
    live_approval: uuid.UUID | None
    stored: Row[Any] | None  # the row of the Idempotency-Key lookup, all NULL when there is none


async def application_context(
    session: AsyncSession, trust_ods: str, gmc: str, patient_ref: str, entry_id: str, stored: StoredLookup | None
) -> ApplicationContext:
    """The applying clinician's registration, any live approval for the patient and entry, and the
    stored response of an earlier request with the same Idempotency-Key (`stored`), in one round
    trip: the application hot path reads nothing else from the database."""
    params = {"trust_ods": trust_ods, "gmc": gmc, "patient_ref": patient_ref, "entry_id": entry_id}
    if stored is not None:
        params |= stored.params
    row = (await session.execute(_context_query(stored.query if stored is not None else None), params)).one()
    applicant = None if row.id is None else Applicant(row.id, row.status, row.gmc_number, row.email)
    return ApplicationContext(applicant, row.live_id, row if stored is not None else None)


@functools.cache
def _context_query(stored: Select[Any] | None) -> Select[Any]:
    """Built once (per idempotency table): the hot path only binds values (`casework.prepared`)."""
    live = (
        select(Application.id)
        .where(
            Application.patient_ref == bindparam("patient_ref"),
            Application.entry_id == bindparam("entry_id"),
            Application.status.in_(LIVE),
        )
        .limit(1)
        .scalar_subquery()
    )
    clinician = (
        select(Clinician.id, Clinician.status, Clinician.gmc_number, Clinician.email)
        .where(Clinician.trust_ods == bindparam("trust_ods"), Clinician.gmc_number == bindparam("gmc"))
        .subquery("clinician")
    )
    joined = select(literal(1).label("one")).subquery("one").outerjoin(clinician, true())
    columns: list[Any] = [live.label("live_id"), *clinician.c]
    if stored is not None:
        earlier = stored.subquery("earlier")
        joined = joined.outerjoin(earlier, true())
        columns += list(earlier.c)
    return select(*columns).select_from(joined)


def stage_insert(uow: CdfUnitOfWork, app: Application) -> None:
    """Write a new application with the unit of work's other writes (its event, audit row and
    idempotency record: one statement); `app` is a transient row with every column set."""
    table = table_of(Application)
    uow.stage_rows(table, [{c.key: getattr(app, c.key) for c in table.columns}])
