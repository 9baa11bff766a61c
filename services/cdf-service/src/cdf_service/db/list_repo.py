"""National list queries and the one way a version is written (create, new version, bulk load)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db.models import ListEntryVersion
from cdf_service.domain.national_list import Criterion, EntryStatus, InvalidListEntry, ListEntry, next_version

CONTENT_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(ListEntry)
    if f.name not in {"entry_id", "version", "effective_from", "effective_to"}
)


def to_domain(row: ListEntryVersion) -> ListEntry:
    return ListEntry(
        entry_id=row.entry_id,
        version=row.version,
        drug_name=row.drug_name,
        dmd_id=row.dmd_id,
        other_dmd_ids=tuple(row.other_dmd_ids or ()),
        indication=row.indication,
        regimen=row.regimen,
        criteria=tuple(Criterion(c["code"], c["text"], bool(c.get("mandatory", True))) for c in row.criteria),
        cost_per_cycle=row.cost_per_cycle,
        cycle_length_days=row.cycle_length_days,
        expected_cycles=row.expected_cycles,
        managed_access_start=row.managed_access_start,
        managed_access_end=row.managed_access_end,
        status=EntryStatus(row.status),
        lapse_window_days=row.lapse_window_days,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


def from_domain(entry: ListEntry, created_by: str, change_note: str | None) -> ListEntryVersion:
    return ListEntryVersion(
        entry_id=entry.entry_id,
        version=entry.version,
        drug_name=entry.drug_name,
        dmd_id=entry.dmd_id,
        other_dmd_ids=list(entry.other_dmd_ids),
        indication=entry.indication,
        regimen=entry.regimen,
        criteria=[{"code": c.code, "text": c.text, "mandatory": c.mandatory} for c in entry.criteria],
        cost_per_cycle=entry.cost_per_cycle,
        cycle_length_days=entry.cycle_length_days,
        expected_cycles=entry.expected_cycles,
        managed_access_start=entry.managed_access_start,
        managed_access_end=entry.managed_access_end,
        status=entry.status.value,
        lapse_window_days=entry.lapse_window_days,
        effective_from=entry.effective_from,
        effective_to=entry.effective_to,
        change_note=change_note,
        created_by=created_by,
    )


def content_of(entry: ListEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in CONTENT_FIELDS}


def in_force_clause(day: date) -> Any:
    return and_(
        ListEntryVersion.effective_from <= day,
        or_(ListEntryVersion.effective_to.is_(None), ListEntryVersion.effective_to > day),
    )


def versions_on(day: date) -> Select[ListEntryVersion]:
    """The list on `day`: every entry's version in force that day."""
    return select(ListEntryVersion).where(in_force_clause(day))


async def entry_on(session: AsyncSession, entry_id: str, day: date) -> ListEntryVersion | None:
    return await session.scalar(versions_on(day).where(ListEntryVersion.entry_id == entry_id))


async def latest_version(session: AsyncSession, entry_id: str, lock: bool = False) -> ListEntryVersion | None:
    query = (
        select(ListEntryVersion)
        .where(ListEntryVersion.entry_id == entry_id)
        .order_by(ListEntryVersion.version.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def history(session: AsyncSession, entry_id: str) -> Sequence[ListEntryVersion]:
    query = select(ListEntryVersion).where(ListEntryVersion.entry_id == entry_id).order_by(ListEntryVersion.version)
    return (await session.scalars(query)).all()


async def ensure_one_drug_per_dmd_id(session: AsyncSession, entry: ListEntry) -> None:
    """A dm+d id names one drug across the whole list (every version), else raise InvalidListEntry.

    SACT rows are resolved to a listed drug by dm+d id; an id under two drug names would send one
    drug's administrations to the other's approvals (and decide which by the order of a dictionary)."""
    ids = [entry.dmd_id, *entry.other_dmd_ids]
    clash = (
        await session.execute(
            select(ListEntryVersion.entry_id, ListEntryVersion.drug_name, ListEntryVersion.dmd_id)
            .where(
                func.lower(func.trim(ListEntryVersion.drug_name)) != entry.drug_name.strip().lower(),
                or_(ListEntryVersion.dmd_id.in_(ids), ListEntryVersion.other_dmd_ids.overlap(ids)),
            )
            .limit(1)
        )
    ).first()
    if clash is not None:
        field = "dmd_id" if entry.dmd_id == clash.dmd_id else "other_dmd_ids"
        raise InvalidListEntry(
            [f"{field}: a dm+d id here already names {clash.drug_name} on the list (entry {clash.entry_id})"]
        )


async def add_first_version(
    session: AsyncSession, entry: ListEntry, created_by: str, change_note: str | None
) -> ListEntryVersion:
    await ensure_one_drug_per_dmd_id(session, entry)
    row = from_domain(dataclasses.replace(entry, version=1, effective_to=None), created_by, change_note)
    session.add(row)
    await session.flush()
    return row


async def add_next_version(
    session: AsyncSession,
    current_row: ListEntryVersion,
    changes: dict[str, Any],
    effective_from: date,
    created_by: str,
    change_note: str | None,
) -> ListEntryVersion:
    """Close `current_row` at `effective_from` and add the next version (domain rules decide)."""
    closed, new = next_version(to_domain(current_row), changes, effective_from)
    await ensure_one_drug_per_dmd_id(session, new)
    current_row.effective_to = closed.effective_to
    row = from_domain(new, created_by, change_note)
    session.add(row)
    await session.flush()
    return row


async def drug_names(session: AsyncSession) -> dict[str, tuple[str, ...]]:
    """Every listed drug (any version) with all its dm+d ids: the SACT matcher's view of the list."""
    query = select(
        ListEntryVersion.drug_name,
        func.array_agg(func.distinct(ListEntryVersion.dmd_id)),
        func.array_agg(func.distinct(func.array_to_string(ListEntryVersion.other_dmd_ids, " "))),
    ).group_by(ListEntryVersion.drug_name)
    result: dict[str, tuple[str, ...]] = {}
    for name, primary, others in (await session.execute(query)).all():
        ids = {*primary, *(i for group in others for i in group.split())}
        result[name] = tuple(sorted(ids))
    return result
