"""Template versions: the packaged files (version 1) overlaid with the versions stored in the database."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.db.models import TemplateVersion
from notification_service.domain.templates import TemplateSet, TemplateSource, packaged_samples, packaged_sources


@cache
def _packaged() -> tuple[tuple[TemplateSource, ...], dict[str, dict[str, Any]]]:
    # The packaged files do not change while the process runs: read them once.
    return tuple(packaged_sources()), packaged_samples()


def packaged_names() -> frozenset[str]:
    return frozenset(s.name for s in _packaged()[0])


async def stored_versions(session: AsyncSession, name: str | None = None) -> list[TemplateVersion]:
    query = select(TemplateVersion).order_by(TemplateVersion.name, TemplateVersion.version)
    if name is not None:
        query = query.where(TemplateVersion.name == name)
    return list((await session.scalars(query)).all())


async def load_template_set(session: AsyncSession, name: str | None = None) -> TemplateSet:
    """Every version of every template (or of one), ready to render; stored samples cover new names."""
    packaged, samples = _packaged()
    stored = await stored_versions(session, name)
    sources = [*packaged, *(TemplateSource(r.name, r.version, r.subject, r.text, r.html) for r in stored)]
    stored_samples = {r.name: r.sample for r in stored if r.sample is not None}
    return TemplateSet(sources, {**samples, **stored_samples})
