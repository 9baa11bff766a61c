"""Listing a case on a panel's agenda: the panel of the kind the case's state needs (a review by a panel
independent of the deciding one; a reconsideration by the same panel), a ratification at a meeting after
the chair's action, and the conflicts members declared on the case.
"""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.auth import Principal
from casework.problems import field_problem
from ifr_service.db import panels
from ifr_service.db.models import AgendaItem, Conflict, IfrRequest, Panel
from ifr_service.domain.case import (
    RATIFICATION_STATES,
    Action,
    CaseState,
    GuardFailed,
    check_ratification_meeting,
    panel_kind_for,
)
from ifr_service.domain.clocks import Clock, plan_for
from ifr_service.domain.panel import not_independent, unknown_members
from ifr_service.runtime import IfrUnitOfWork
from ifr_service.use_cases.action_base import ActionContext, Body, Reason
from ifr_service.use_cases.decisions import chairs_action_awaiting
from ifr_service.use_cases.workflow import emit_case_event, ensure_allowed, transition


class ConflictIn(Body):
    member_id: str = Field(min_length=1, max_length=200)
    reason: Reason


class ListIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "panel_id": "3f6c2a1e-8b4d-4c7a-9e2f-5a1b7c9d0e42",
                    "conflicts": [{"member_id": "j.patel", "reason": "Works in the applying clinician's department."}],
                }
            ]
        }
    )
    panel_id: uuid.UUID | None = Field(None, description="Required except for a reconsideration (same panel)")
    conflicts: list[ConflictIn] = Field(default_factory=list, description="Conflicts members declared on this case")


async def _panel_for_listing(ctx: ActionContext, case: IfrRequest, body: ListIn) -> Panel:
    panel_id = body.panel_id
    if panel_id is None and case.state == CaseState.RECONSIDERATION:
        deciding = await panels.deciding_panels(ctx.uow.session, case.id)
        panel_id = deciding[-1] if deciding else None
    if panel_id is None:
        raise field_problem("panel_id", "is required")
    panel = await panels.get_panel(ctx.uow.session, panel_id)
    if panel is None:
        raise field_problem("panel_id", "no such panel")
    wanted = panel_kind_for(case.state)
    if panel.kind != wanted:
        raise field_problem("panel_id", f"this case must be heard by a panel of kind {wanted}, not {panel.kind}")
    members = await panels.members_of(ctx.uow.session, panel.id)
    if wanted == "review":
        earlier = [
            await panels.members_of(ctx.uow.session, p) for p in await panels.deciding_panels(ctx.uow.session, case.id)
        ]
        overlap = not_independent(members, earlier)
        if overlap:
            raise field_problem(
                "panel_id",
                f"a review must be heard by a different panel: {', '.join(overlap)} sat on the deciding panel",
            )
    strangers = unknown_members(members, [c.member_id for c in body.conflicts])
    if strangers:
        raise field_problem("conflicts", f"not members of this panel: {', '.join(strangers)}")
    return panel


async def list_on_panel(ctx: ActionContext, case: IfrRequest, body: ListIn) -> None:
    ensure_allowed(case, Action.LIST_FOR_PANEL)  # the routes checked; the agenda and any caller alike
    panel = await _panel_for_listing(ctx, case, body)
    purpose = {CaseState.REVIEW: "review", CaseState.RECONSIDERATION: "reconsideration"}.get(
        CaseState(case.state), "decision"
    )
    if case.state in RATIFICATION_STATES:
        purpose = "ratification"
        await _check_ratification_meeting(ctx, case, panel)
    from_state = case.state
    plan = plan_for(Action.LIST_FOR_PANEL, from_state) if purpose != "review" else plan_for("none")
    detail = {"panel_id": str(panel.id), "meeting_date": panel.meeting_date.isoformat(), "purpose": purpose}
    await transition(
        ctx.uow,
        case,
        Action.LIST_FOR_PANEL,
        principal=ctx.principal,
        settings=ctx.settings,
        plan=plan,
        starts={Clock.DECISION_LETTER: panel.meeting_date},
        detail=detail,
    )
    ctx.uow.session.add(AgendaItem(panel_id=panel.id, request_id=case.id, purpose=purpose, added_by=ctx.principal.sub))
    await declare_conflicts(ctx.uow, ctx.principal, panel_id=panel.id, request_id=case.id, conflicts=body.conflicts)
    case.current_panel_id = panel.id
    emit_case_event(ctx.uow, case, "ifr.request.listed_for_panel", panel_id=panel.id, meeting_date=panel.meeting_date)


async def _check_ratification_meeting(ctx: ActionContext, case: IfrRequest, panel: Panel) -> None:
    chairs, _ = await chairs_action_awaiting(ctx, case)
    try:
        check_ratification_meeting(panel.meeting_date, chairs.decided_on)
    except GuardFailed as exc:
        raise field_problem("panel_id", str(exc)) from None


async def declare_conflicts(
    uow: IfrUnitOfWork, principal: Principal, *, panel_id: uuid.UUID, request_id: uuid.UUID, conflicts: list[ConflictIn]
) -> None:
    for c in conflicts:
        await uow.session.execute(
            pg_insert(Conflict)
            .values(panel_id=panel_id, request_id=request_id, member_id=c.member_id, reason=c.reason)
            .on_conflict_do_nothing()
        )
        uow.audit(
            principal,
            "conflict_declared",
            "ifr_request",
            request_id,
            detail={"panel_id": str(panel_id), "member": c.member_id},
        )
