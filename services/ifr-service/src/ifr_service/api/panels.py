"""Panels: meetings with members by role, their agendas and declared conflicts."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from casework.auth import Principal, Role, require_roles
from casework.clock import today
from casework.concurrency import require_version, stale_to_412
from casework.idempotency import IdempotentRequest
from casework.openapi import IDEMPOTENT
from casework.pagination import Page, paginate
from casework.problems import NotFound, field_problem
from ifr_service.access import OFFICER_ROLES, visible_panels
from ifr_service.db import panels as panel_queries
from ifr_service.db.models import AgendaItem, Conflict, IfrRequest, Panel, PanelMember
from ifr_service.domain.case import Action
from ifr_service.domain.panel import Member, MemberRole, PanelKind, participating, quorum_shortfall, unknown_members
from ifr_service.domain.regions import Region, region_name
from ifr_service.runtime import IfrUnitOfWork, Runtime, Uow
from ifr_service.use_cases.action_base import ActionContext
from ifr_service.use_cases.cohorts import open_alert_for
from ifr_service.use_cases.panel_actions import ConflictIn, ListIn, declare_conflicts, list_on_panel
from ifr_service.use_cases.workflow import ensure_allowed, get_case

router = APIRouter(prefix="/ifr/panels", tags=["panels"])
PANEL_READERS = (Role.IFR_OFFICER, Role.PANEL_MEMBER, Role.NATIONAL_ANALYST)
Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=200, description="The member's user id (their token's sub)")
    name: str = Field(min_length=1, max_length=200)
    role: MemberRole
    voting: bool = True


# The decision-letter clock counts working days on from the meeting date, so a meeting must be a date
# the calendar can count from (9999-12-30 could not): the platform's years, as for months and quarters.
EARLIEST_MEETING, LATEST_MEETING = date(1900, 1, 1), date(2099, 12, 31)


class PanelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "ifr",
                    "name": "North East and Yorkshire IFR panel, June 2026",
                    "region": "Y63",
                    "meeting_date": "2026-06-18",
                    "members": [
                        {"member_id": "m.okafor", "name": "Dr Mira Okafor", "role": "chair"},
                        {"member_id": "j.patel", "name": "Dr Jay Patel", "role": "clinician"},
                        {"member_id": "r.evans", "name": "Dr Rhian Evans", "role": "public_health"},
                        {"member_id": "s.wright", "name": "Sam Wright", "role": "pharmacist"},
                        {"member_id": "l.hughes", "name": "Lee Hughes", "role": "lay_member"},
                        {"member_id": "k.brown", "name": "Kim Brown", "role": "commissioner", "voting": False},
                    ],
                }
            ]
        },
    )
    kind: PanelKind = PanelKind.IFR
    name: str = Field(min_length=1, max_length=200)
    region: Region = Field(description="The commissioning region the panel sits for (Y56 London ... Y63)")
    meeting_date: date = Field(ge=EARLIEST_MEETING, le=LATEST_MEETING, description="Between 1900 and 2099")
    members: list[MemberIn] = Field(min_length=1)

    @field_validator("members")
    @classmethod
    def _members_once(cls, members: list[MemberIn]) -> list[MemberIn]:
        ids = [m.member_id for m in members]
        if len(ids) != len(set(ids)):
            raise ValueError("a member is listed twice")
        return members


class AgendaEntryOut(BaseModel):
    request_id: uuid.UUID
    reference: str
    state: str
    purpose: str
    conflicted_members: list[str]
    quorum_shortfall: list[str] = Field(
        description="What a quorum would lack for this case if every member not conflicted attends (empty: quorate)"
    )


class PanelOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    region: str
    region_name: str
    meeting_date: date
    members: list[MemberIn]
    agenda: list[AgendaEntryOut]


async def _panel_out(uow: IfrUnitOfWork, panel: Panel) -> PanelOut:
    members = (
        await uow.session.scalars(select(PanelMember).where(PanelMember.panel_id == panel.id).order_by(PanelMember.id))
    ).all()
    items = (
        await uow.session.execute(
            select(AgendaItem, IfrRequest.reference, IfrRequest.state)
            .join(IfrRequest, IfrRequest.id == AgendaItem.request_id)
            .where(AgendaItem.panel_id == panel.id)
            .order_by(AgendaItem.id)
        )
    ).all()
    conflicts = (await uow.session.scalars(select(Conflict).where(Conflict.panel_id == panel.id))).all()
    roster = [Member(m.member_id, m.role, m.voting) for m in members]
    everyone = [m.member_id for m in members]
    rule = uow.settings.quorum_rule()

    def shortfall(request_id: uuid.UUID) -> list[str]:
        stepped_out = [c.member_id for c in conflicts if c.request_id == request_id]
        return quorum_shortfall(participating(roster, everyone, stepped_out), rule)

    return PanelOut(
        id=panel.id,
        kind=panel.kind,
        name=panel.name,
        region=panel.region,
        region_name=region_name(panel.region),
        meeting_date=panel.meeting_date,
        members=[
            MemberIn(member_id=m.member_id, name=m.name, role=MemberRole(m.role), voting=m.voting) for m in members
        ],
        agenda=[
            AgendaEntryOut(
                request_id=item.request_id,
                reference=reference,
                state=state,
                purpose=item.purpose,
                conflicted_members=sorted(c.member_id for c in conflicts if c.request_id == item.request_id),
                quorum_shortfall=shortfall(item.request_id),
            )
            for item, reference, state in items
        ],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PanelOut, openapi_extra=IDEMPOTENT)
async def create_panel(body: PanelIn, request: Request, uow: Uow, principal: Officer) -> Any:
    idempotent = IdempotentRequest(request, principal, body.model_dump(mode="json"))
    if (previous := await idempotent.previous(uow)) is not None:
        return previous
    panel = Panel(
        id=uuid.uuid4(),
        kind=body.kind,
        name=body.name,
        region=body.region,
        meeting_date=body.meeting_date,
        created_by=principal.sub,
    )
    uow.session.add(panel)
    await uow.session.flush()
    for m in body.members:
        uow.session.add(
            PanelMember(panel_id=panel.id, member_id=m.member_id, name=m.name, role=m.role, voting=m.voting)
        )
    await uow.session.flush()
    detail = {"kind": body.kind, "region": body.region, "members": len(body.members)}
    uow.audit(principal, "create", "ifr_panel", panel.id, detail=detail)
    out = (await _panel_out(uow, panel)).model_dump(mode="json")
    await idempotent.remember(uow, status.HTTP_201_CREATED, out)
    if (first := await idempotent.commit_or_replay(uow)) is not None:
        return first
    return JSONResponse(out, status_code=201)


@router.get("", response_model=Page[PanelOut])
async def list_panels(
    uow: Uow,
    principal: Annotated[Principal, Depends(require_roles(*PANEL_READERS))],
    kind: PanelKind | None = None,
    region: Region | None = None,
    meeting_from: date | None = None,
    meeting_to: date | None = None,
    member: str | None = None,
    upcoming: Annotated[bool, Query(description="only meetings from today on, soonest first")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[PanelOut]:
    """Panels in the order they were set up, or (`upcoming`) the meetings to come, soonest first; a panel
    member sees only the panels they sit on."""
    query = visible_panels(select(Panel), principal)
    if upcoming:
        query = query.where(Panel.meeting_date >= today())
    if kind:
        query = query.where(Panel.kind == kind)
    if region:
        query = query.where(Panel.region == region)
    if meeting_from:
        query = query.where(Panel.meeting_date >= meeting_from)
    if meeting_to:
        query = query.where(Panel.meeting_date <= meeting_to)
    if member:
        query = query.where(Panel.id.in_(select(PanelMember.panel_id).where(PanelMember.member_id == member)))
    keys = (Panel.meeting_date, Panel.id) if upcoming else (Panel.created_at, Panel.id)
    rows, next_cursor = await paginate(uow.session, query, keys, cursor, limit)
    return Page[PanelOut](items=[await _panel_out(uow, p) for p in rows], next_cursor=next_cursor)


async def _visible_panel(uow: IfrUnitOfWork, panel_id: uuid.UUID, principal: Principal) -> Panel:
    panel = await uow.session.scalar(visible_panels(select(Panel).where(Panel.id == panel_id), principal))
    if panel is None:
        raise NotFound(f"panel {panel_id} not found")
    return panel


@router.get("/{panel_id}", response_model=PanelOut)
async def read_panel(
    panel_id: uuid.UUID, uow: Uow, principal: Annotated[Principal, Depends(require_roles(*PANEL_READERS))]
) -> PanelOut:
    return await _panel_out(uow, await _visible_panel(uow, panel_id, principal))


class AgendaCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: uuid.UUID
    version: int = Field(ge=1, description="The case's current version (its ETag): the If-Match of this listing")


class AgendaIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "cases": [{"request_id": "0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "version": 4}],
                    "conflicts": [
                        {
                            "request_id": "0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                            "member_id": "j.patel",
                            "reason": "Works in the applying clinician's department.",
                        }
                    ],
                }
            ]
        },
    )
    cases: list[AgendaCaseIn] = Field(min_length=1)
    conflicts: list[ConflictInCase] = Field(default_factory=list)

    @field_validator("cases")
    @classmethod
    def _cases_once(cls, cases: list[AgendaCaseIn]) -> list[AgendaCaseIn]:
        ids = [c.request_id for c in cases]
        if len(ids) != len(set(ids)):
            raise ValueError("a case is listed twice")
        return cases


class ConflictInCase(ConflictIn):
    request_id: uuid.UUID


AgendaIn.model_rebuild()


@router.post("/{panel_id}/agenda", response_model=PanelOut)
async def add_to_agenda(
    panel_id: uuid.UUID, body: AgendaIn, uow: Uow, runtime: Runtime, principal: Officer
) -> PanelOut:
    """List cases for this panel (each is the case's `list-for-panel` action, all or none)."""
    panel = await _visible_panel(uow, panel_id, principal)
    context = ActionContext(uow, runtime.settings, principal, today())
    listed = {c.request_id for c in body.cases}
    stray = [str(c.request_id) for c in body.conflicts if c.request_id not in listed]
    if stray:
        raise field_problem("conflicts", f"cases not being listed: {', '.join(stray)}")
    async with stale_to_412():
        for entry in body.cases:
            case = await get_case(uow, entry.request_id, principal)
            require_version(f'"{entry.version}"', case.version)
            in_cohort = await open_alert_for(uow, case, today()) is not None
            ensure_allowed(case, Action.LIST_FOR_PANEL, in_cohort)
            conflicts = [
                ConflictIn(member_id=c.member_id, reason=c.reason) for c in body.conflicts if c.request_id == case.id
            ]
            with uow.session.no_autoflush:  # one UPDATE per case: its version moves by one
                await list_on_panel(context, case, ListIn(panel_id=panel.id, conflicts=conflicts))
            await uow.session.flush()
        await uow.session.flush()
        out = await _panel_out(uow, panel)
        await uow.commit()
    return out


class ConflictDeclarationIn(ConflictIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                    "member_id": "s.wright",
                    "reason": "Advised the trust on this patient's medicines in 2025.",
                }
            ]
        }
    )
    request_id: uuid.UUID


@router.post("/{panel_id}/conflicts", response_model=PanelOut)
async def declare_conflict(
    panel_id: uuid.UUID,
    body: ConflictDeclarationIn,
    uow: Uow,
    principal: Annotated[Principal, Depends(require_roles(Role.IFR_OFFICER, Role.PANEL_MEMBER))],
) -> PanelOut:
    """A member declares a conflict of interest on a case: they step out of it."""
    panel = await _visible_panel(uow, panel_id, principal)
    members = await panel_queries.members_of(uow.session, panel.id)
    if unknown_members(members, [body.member_id]):
        raise field_problem("member_id", "is not a member of this panel")
    if not principal.has_any([Role.IFR_OFFICER, Role.ADMIN]) and body.member_id != principal.sub:
        raise field_problem("member_id", "a panel member declares their own conflicts")
    if await panel_queries.agenda_purpose(uow.session, panel.id, body.request_id) is None:
        raise field_problem("request_id", "is not on this panel's agenda")
    await declare_conflicts(uow, principal, panel_id=panel.id, request_id=body.request_id, conflicts=[body])
    await uow.session.flush()
    out = await _panel_out(uow, panel)
    await uow.commit()
    return out
