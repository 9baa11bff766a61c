"""A per-process copy of the national list for the application hot path.

The list is small (tens of entries, a few versions each) and changes by dated versions, so every
application need not read it again: the copy is reloaded after LIST_CACHE_TTL_S seconds, and at once
in the process that changed the list. Another replica sees a change within the TTL (0 turns the copy
off); versions take effect from a day, so a change announced in advance is never missed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cdf_service.db import list_repo
from cdf_service.db.models import ListEntryVersion
from cdf_service.domain.national_list import ListEntry, entry_as_of
from cdf_service.runtime import CdfRuntime


class ListCache:
    def __init__(self) -> None:
        self._versions: dict[str, list[ListEntry]] = {}
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def entry_for(
        self, session: AsyncSession, entry_id: str, day: date, ttl_s: float
    ) -> tuple[ListEntry, bool] | None:
        """(the version in force on `day`, True), (the latest version, False) if none is, or None."""
        if ttl_s <= 0:
            return await _from_database(session, entry_id, day)
        if time.monotonic() - self._loaded_at > ttl_s:
            await self._load(session)
        versions = self._versions.get(entry_id)
        if not versions:
            return None
        in_force = entry_as_of(versions, day)
        return (in_force, True) if in_force is not None else (versions[-1], False)

    async def versions(self, session: AsyncSession, entry_id: str, ttl_s: float) -> list[ListEntry]:
        """Every version of the entry, in version order (a change announced ahead is already among them)."""
        if ttl_s <= 0:
            return [list_repo.to_domain(row) for row in await list_repo.history(session, entry_id)]
        if time.monotonic() - self._loaded_at > ttl_s:
            await self._load(session)
        return list(self._versions.get(entry_id, []))

    async def drug_names(self, session: AsyncSession, ttl_s: float) -> dict[str, tuple[str, ...]]:
        """Every listed drug (any version) with all its dm+d ids: `list_repo.drug_names` from the copy."""
        if ttl_s <= 0:
            return await list_repo.drug_names(session)
        if time.monotonic() - self._loaded_at > ttl_s:
            await self._load(session)
        ids: dict[str, set[str]] = defaultdict(set)
        for versions in self._versions.values():
            for version in versions:
                ids[version.drug_name].update((version.dmd_id, *version.other_dmd_ids))
        return {name: tuple(sorted(found)) for name, found in ids.items()}

    async def _load(self, session: AsyncSession) -> None:
        rows = (await session.scalars(select(ListEntryVersion).order_by(ListEntryVersion.version))).all()
        versions: dict[str, list[ListEntry]] = defaultdict(list)
        for row in rows:
            versions[row.entry_id].append(list_repo.to_domain(row))
        self._versions = dict(versions)
        self._loaded_at = time.monotonic()


async def _from_database(session: AsyncSession, entry_id: str, day: date) -> tuple[ListEntry, bool] | None:
    row = await list_repo.entry_on(session, entry_id, day)
    if row is not None:
        return list_repo.to_domain(row), True
    latest = await list_repo.latest_version(session, entry_id)
    return (list_repo.to_domain(latest), False) if latest is not None else None


def list_cache(runtime: CdfRuntime) -> ListCache:
    """The runtime's copy (one per service instance: tests run several against different databases)."""
    cache = runtime.extras.get("list_cache")
    if not isinstance(cache, ListCache):
        cache = runtime.extras["list_cache"] = ListCache()
    return cache
