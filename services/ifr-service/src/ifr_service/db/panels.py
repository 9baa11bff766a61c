"""Queries over panels: members, conflicts, agendas, and which panels decided a case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ifr_service.db.models import AgendaItem, Conflict, Decision, Panel, PanelMember
from ifr_service.domain.panel import Member


async def members_of(session: AsyncSession, panel_id: uuid.UUID) -> list[Member]:
    rows = await session.scalars(select(PanelMember).where(PanelMember.panel_id == panel_id).order_by(PanelMember.id))
    return [Member(r.member_id, r.role, r.voting) for r in rows]


async def conflicted(session: AsyncSession, panel_id: uuid.UUID, request_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Conflict.member_id).where(Conflict.panel_id == panel_id, Conflict.request_id == request_id)
    )
    return sorted(rows)


async def deciding_panels(session: AsyncSession, request_id: uuid.UUID) -> list[uuid.UUID]:
    """IFR panels that made a decision on the case (in order)."""
    rows = await session.scalars(
        select(Decision.panel_id)
        .where(Decision.request_id == request_id, Decision.kind != "review")
        .order_by(Decision.created_at)
    )
    return list(dict.fromkeys(rows))


async def agenda_purpose(session: AsyncSession, panel_id: uuid.UUID, request_id: uuid.UUID) -> str | None:
    """Why the case is on this panel's agenda (latest listing), or None when it is not."""
    return await session.scalar(
        select(AgendaItem.purpose)
        .where(AgendaItem.panel_id == panel_id, AgendaItem.request_id == request_id)
        .order_by(AgendaItem.id.desc())
        .limit(1)
    )


async def get_panel(session: AsyncSession, panel_id: uuid.UUID) -> Panel | None:
    return await session.get(Panel, panel_id)


async def standing_budget_impact(session: AsyncSession, request_id: uuid.UUID) -> dict[str, Any] | None:
    """The budget what-if kept with the decision that stands (review findings left out), if it kept one."""
    return await session.scalar(
        select(Decision.budget_impact)
        .where(Decision.request_id == request_id, Decision.kind != "review")
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    )


async def decisions_of(session: AsyncSession, request_id: uuid.UUID) -> list[Decision]:
    """The case's decisions, oldest first, review findings left out: the last one is the one that stands."""
    rows = await session.scalars(
        select(Decision)
        .where(Decision.request_id == request_id, Decision.kind != "review")
        .order_by(Decision.created_at, Decision.id)
    )
    return list(rows)
