"""Changing the national CDF list by dated versions: a new entry (refused if the entry exists: add a
version instead), the next version of an entry (made from the version the editor read, If-Match; its
effective day after the current one's), each checked as a list entry and kept in the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any

from casework.auth import Principal
from casework.concurrency import require_version
from casework.problems import Conflict, NotFound, Unprocessable
from cdf_service.db import list_repo
from cdf_service.db.models import ListEntryVersion
from cdf_service.domain.national_list import InvalidListEntry, ListEntry, VersionConflict
from cdf_service.runtime import CdfUnitOfWork


async def create_entry(
    uow: CdfUnitOfWork, values: dict[str, Any], *, change_note: str | None, principal: Principal
) -> ListEntryVersion:
    """Version 1 of a new entry from its values, stored with its audit row (not committed)."""
    if await list_repo.latest_version(uow.session, values["entry_id"]) is not None:
        raise Conflict(f"list entry {values['entry_id']} exists; add a version instead", entry_id=values["entry_id"])
    try:
        entry = ListEntry(version=1, **values)
        row = await list_repo.add_first_version(uow.session, entry, principal.sub, change_note)
    except InvalidListEntry as exc:
        raise _invalid(exc) from None
    uow.audit(principal, "create", "cdf_list_entry", f"{row.entry_id}/v1", reason=change_note)
    return row


async def add_version(
    uow: CdfUnitOfWork,
    entry_id: str,
    *,
    changes: dict[str, Any],
    effective_from: date,
    note: str | None,
    if_match: str | None,
    principal: Principal,
) -> ListEntryVersion:
    """The entry's next version with `changes` from `effective_from`, stored with its audit row (not
    committed)."""
    current = await list_repo.latest_version(uow.session, entry_id, lock=True)
    if current is None:
        raise NotFound(f"list entry {entry_id} not found")
    require_version(if_match, current.version)
    try:
        row = await list_repo.add_next_version(uow.session, current, changes, effective_from, principal.sub, note)
    except VersionConflict as exc:
        raise Unprocessable(str(exc), errors=[{"field": "effective_from", "message": str(exc)}]) from None
    except InvalidListEntry as exc:
        raise _invalid(exc) from None
    uow.audit(principal, "version", "cdf_list_entry", f"{entry_id}/v{row.version}", reason=note)
    return row


def _invalid(exc: InvalidListEntry) -> Unprocessable:
    errors = [{"field": p.split(" ", 1)[0].rstrip(":"), "message": p} for p in exc.problems]
    return Unprocessable("; ".join(exc.problems), errors=errors)
