"""The decision actions: the panel's decision (quorum checked), the review panel's finding, and an
urgent decision by chair's action that the next quorate panel ratifies or overturns.

Every decision is a row in `ifr_decisions`; the last one (review findings aside) is the one that
stands. `ifr.decision.made` carries the decision's id, its number on the case and the decision it
supersedes, so a consumer replaces the earlier decision rather than adding to it.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from casework.auth import Forbidden, Role
from casework.budget_impact import BudgetImpact, mismatch
from casework.financial_year import financial_year_of
from casework.problems import Conflict as ConflictProblem
from casework.problems import Unprocessable, field_problem
from ifr_service.db import panels
from ifr_service.db.models import Decision, IfrRequest, Panel
from ifr_service.domain.application import Application
from ifr_service.domain.case import (
    Action,
    CaseState,
    DecisionTerms,
    GuardFailed,
    Outcome,
    ReviewOutcome,
    check_overturn,
)
from ifr_service.domain.clocks import Clock, is_open
from ifr_service.domain.panel import (
    chairs_action_refusal,
    participating,
    quorum_shortfall,
    recorder_refusal,
    unknown_members,
)
from ifr_service.use_cases.action_base import ActionContext, Body, Money, Reason, simple_transition
from ifr_service.use_cases.workflow import emit_case_event, ensure_allowed

# -- bodies -------------------------------------------------------------------------------------------


class DecisionReasonsIn(Body):
    exceptionality: Reason
    clinical_effectiveness: Reason
    value_for_money: Reason


class DecisionTermsIn(Body):
    outcome: Outcome
    reasons: DecisionReasonsIn
    conditions: list[Reason] = Field(default_factory=list)
    approved_cost: Money | None = Field(None, description="Defaults to the application's total cost when funded")
    budget_impact: BudgetImpact | None = Field(
        None,
        description="The what-if shown before the decision (contract-service's GET /forecast-outturn/what-if "
        "for the approved cost), kept with the decision as shown",
    )


# the panel members of the examples (ifr-service's PanelIn example), and the reasons of a funded decision
_PRESENT: list[JsonValue] = ["m.okafor", "j.patel", "r.evans", "s.wright", "l.hughes"]
_REASONS: JsonDict = {
    "exceptionality": "A genetic variant seen in under 1 in 10,000 patients, and renal impairment that rules out "
    "the standard options: a clinical picture significantly different from other patients with the condition.",
    "clinical_effectiveness": "Case series (n=12) show remission in 9 patients within 12 weeks.",
    "value_for_money": "£15,000 for six months against the cost of repeated admissions for relapse.",
}


class DecideIn(DecisionTermsIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "approved_with_conditions",
                    "reasons": _REASONS,
                    "conditions": ["Review of the BVAS score at 12 weeks; stop if it has not fallen."],
                    "approved_cost": "15000.00",
                    "present": _PRESENT,
                }
            ]
        }
    )
    present: list[str] = Field(min_length=1, description="Member ids of those present")


class ChairsActionIn(DecisionTermsIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "approved",
                    "reasons": _REASONS,
                    "urgent_reason": "Renal function is falling week by week; the next quorate panel is in 3 weeks.",
                    "approved_cost": "15000.00",
                }
            ]
        }
    )
    urgent_reason: Reason = Field(description="Why the request could not wait for a quorate panel")
    panel_id: uuid.UUID | None = Field(
        None, description="The chair's IFR panel; defaults to the panel the case is listed on"
    )
    chair: str | None = Field(
        None, min_length=1, max_length=200, description="Member id of the chair or deputy who decided (default: you)"
    )


class RatifyIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "present": _PRESENT,
                    "note": "Ratified without change.",
                }
            ]
        }
    )
    present: list[str] = Field(min_length=1, description="Member ids of those present")
    note: Reason | None = None


class ReviewDecisionIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "upheld",
                    "reasons": "The panel followed the policy and weighed the evidence it had; the decision stands.",
                    "present": ["a.khan", "c.morris", "t.obrien"],
                }
            ]
        }
    )
    outcome: ReviewOutcome
    reasons: Reason
    present: list[str] = Field(min_length=1)


# -- shared steps -------------------------------------------------------------------------------------


async def _quorate_panel(ctx: ActionContext, case: IfrRequest, present: list[str]) -> tuple[Panel, list[str]]:
    """The panel the case is listed on, checked for a quorum among those present and not conflicted."""
    panel = await panels.get_panel(ctx.uow.session, case.current_panel_id) if case.current_panel_id else None
    if panel is None:
        raise ConflictProblem("the case is not on a panel's agenda", current_state=case.state)
    if panel.meeting_date > ctx.today:
        raise field_problem("present", f"the panel meets on {panel.meeting_date}: record the decision after it met")
    members = await panels.members_of(ctx.uow.session, panel.id)
    strangers = unknown_members(members, present)
    if strangers:
        raise field_problem("present", f"not members of this panel: {', '.join(strangers)}")
    conflicted = await panels.conflicted(ctx.uow.session, panel.id, case.id)
    if not ctx.principal.has_any([Role.IFR_OFFICER, Role.ADMIN]):
        refusal = recorder_refusal(members, ctx.principal.sub, conflicted)
        if refusal is not None:
            raise Forbidden(refusal)
    shortfall = quorum_shortfall(participating(members, present, conflicted), ctx.settings.quorum_rule())
    if shortfall:
        raise Unprocessable(
            "the panel is not quorate for this case: " + "; ".join(shortfall),
            errors=[{"field": "present", "message": m} for m in shortfall],
            quorum_missing=shortfall,
        )
    return panel, sorted(set(present) & set(conflicted))


def _funded_cost(case: IfrRequest, body: DecisionTermsIn, today: date) -> Decimal | None:
    """The approved cost of a funded outcome (default: the application's total cost); checks the terms."""
    if body.outcome == Outcome.APPROVED_WITH_CONDITIONS and not body.conditions:
        raise field_problem("conditions", "an approval with conditions needs at least one condition")
    if body.outcome == Outcome.DECLINED and (body.conditions or body.approved_cost is not None):
        raise field_problem("approved_cost", "a declined request has no approved cost or conditions")
    cost = (
        None
        if not body.outcome.funds
        else body.approved_cost
        if body.approved_cost is not None
        else Application.model_validate(case.application).treatment.total_cost
    )
    if body.budget_impact is not None and (
        wrong := mismatch(
            body.budget_impact,
            source="ifr",
            provider_ods=case.provider_ods,
            financial_year=financial_year_of(today).financial_year,  # the decision's day decides the year
            amount=cost,
        )
    ):
        raise field_problem(*wrong)
    return cost


def _shown(body: DecisionTermsIn) -> dict[str, Any] | None:
    return None if body.budget_impact is None else body.budget_impact.model_dump(mode="json")


def _record_decision(
    ctx: ActionContext,
    case: IfrRequest,
    panel: Panel,
    kind: str,
    outcome: str,
    reasons: dict[str, Any],
    present: list[str],
    excluded: list[str],
    conditions: list[str] | None = None,
    cost: Decimal | None = None,
    **extra: Any,
) -> Decision:
    """Keep the decision with who was present and who stepped out (`extra`: chair's action and
    ratification columns)."""
    decision = Decision(
        id=uuid.uuid4(),
        request_id=case.id,
        panel_id=panel.id,
        kind=kind,
        basis=extra.pop("basis", "panel"),
        outcome=str(outcome),
        reasons=reasons,
        conditions=conditions or [],
        approved_cost=cost,
        present=sorted(set(present)),
        excluded_for_conflict=excluded,
        decided_on=ctx.today,
        recorded_by=ctx.principal.sub,
        **extra,
    )
    ctx.uow.session.add(decision)
    return decision


def _announce(ctx: ActionContext, case: IfrRequest, decision: Decision, earlier: list[Decision]) -> None:
    """`ifr.decision.made` for a decision that takes effect; it supersedes the one that stood before."""
    emit_case_event(
        ctx.uow,
        case,
        "ifr.decision.made",
        outcome=decision.outcome,
        reasons=decision.reasons,
        conditions=list(decision.conditions),
        panel_id=decision.panel_id,
        patient_ref=case.patient_ref,
        treatment_name=case.treatment_name,
        treatment_code=case.treatment_code,
        approved_cost=decision.approved_cost,
        decided_on=decision.decided_on,
        decision_id=decision.id,
        decision_number=len(earlier) + 1,
        basis=decision.basis,
        supersedes=earlier[-1].id if earlier else None,
        ratification_due=decision.ratification_due,
    )


# -- the panel's decision and the review panel's finding ------------------------------------------------


async def decide(ctx: ActionContext, case: IfrRequest, body: DecideIn) -> None:
    cost = _funded_cost(case, body, ctx.today)
    panel, excluded = await _quorate_panel(ctx, case, body.present)
    purpose = await panels.agenda_purpose(ctx.uow.session, panel.id, case.id) or "decision"
    earlier = await panels.decisions_of(ctx.uow.session, case.id)
    decision = _record_decision(
        ctx, case, panel, purpose, body.outcome, body.reasons.model_dump(), body.present, excluded,
        list(body.conditions), cost, budget_impact=_shown(body),
    )  # fmt: skip
    detail = {"outcome": body.outcome.value, "panel_id": str(panel.id), "present": decision.present}
    await simple_transition(ctx, case, Action.DECIDE, detail={**detail, "excluded": excluded})
    case.outcome = body.outcome.value
    _announce(ctx, case, decision, earlier)


async def decide_review(ctx: ActionContext, case: IfrRequest, body: ReviewDecisionIn) -> None:
    panel, excluded = await _quorate_panel(ctx, case, body.present)
    decision = _record_decision(
        ctx, case, panel, "review", body.outcome, {"review": body.reasons}, body.present, excluded
    )
    case.review_outcome = body.outcome.value
    detail = {"outcome": body.outcome.value, "panel_id": str(panel.id), "present": decision.present}
    await simple_transition(ctx, case, Action.DECIDE_REVIEW, detail={**detail, "excluded": excluded})
    case.current_panel_id = None
    emit_case_event(ctx.uow, case, "ifr.request.review_decided", outcome=body.outcome.value, reasons=body.reasons)


# -- urgent: chair's action, then ratification by the next quorate panel --------------------------------


async def _chairs_panel(ctx: ActionContext, case: IfrRequest, body: ChairsActionIn) -> tuple[Panel, str]:
    """The IFR panel whose chair (or deputy) decides, and that chair; 422 naming the field otherwise."""
    chair = body.chair or ctx.principal.sub
    if chair != ctx.principal.sub and not ctx.principal.has_any([Role.IFR_OFFICER, Role.ADMIN]):
        raise field_problem("chair", "a panel chair records their own chair's action")
    panel_id = body.panel_id or (case.current_panel_id if case.state == CaseState.LISTED_FOR_PANEL else None)
    if panel_id is None:
        raise field_problem("panel_id", "is required: the IFR panel whose chair decides")
    panel = await panels.get_panel(ctx.uow.session, panel_id)
    if panel is None:
        raise field_problem("panel_id", "no such panel")
    members = await panels.members_of(ctx.uow.session, panel.id)
    conflicted = await panels.conflicted(ctx.uow.session, panel.id, case.id)
    refusal = chairs_action_refusal(panel.kind, members, chair, conflicted)
    if refusal is not None:
        raise field_problem("chair", refusal)
    return panel, chair


async def chairs_action(ctx: ActionContext, case: IfrRequest, body: ChairsActionIn) -> None:
    ensure_allowed(case, Action.CHAIRS_ACTION)  # a routine case: 409, a quorate panel must decide it
    cost = _funded_cost(case, body, ctx.today)
    panel, chair = await _chairs_panel(ctx, case, body)
    kind = "reconsideration" if case.state == CaseState.RECONSIDERATION else "decision"
    earlier = await panels.decisions_of(ctx.uow.session, case.id)
    detail = {"outcome": body.outcome.value, "panel_id": str(panel.id), "chair": chair}
    clocks = await simple_transition(
        ctx, case, Action.CHAIRS_ACTION, detail={**detail, "urgent_reason": body.urgent_reason}
    )
    due = min(c.due_date for c in clocks if c.clock == Clock.RATIFICATION and is_open(c))
    decision = _record_decision(
        ctx, case, panel, kind, body.outcome, body.reasons.model_dump(), [chair], [], list(body.conditions), cost,
        basis="chairs_action", acting_chair=chair, urgent_reason=body.urgent_reason, ratification_due=due,
        budget_impact=_shown(body),
    )  # fmt: skip
    case.outcome, case.ratification_due, case.current_panel_id = body.outcome.value, due, None
    _announce(ctx, case, decision, earlier)


async def chairs_action_awaiting(ctx: ActionContext, case: IfrRequest) -> tuple[Decision, list[Decision]]:
    """The chair's action the panel is to ratify, and every decision on the case so far."""
    earlier = await panels.decisions_of(ctx.uow.session, case.id)
    if not earlier or earlier[-1].basis != "chairs_action" or earlier[-1].ratification is not None:
        raise ConflictProblem("no chair's action is waiting for ratification", current_state=case.state)
    return earlier[-1], earlier


async def ratify(ctx: ActionContext, case: IfrRequest, body: RatifyIn) -> None:
    chairs, _ = await chairs_action_awaiting(ctx, case)
    panel, excluded = await _quorate_panel(ctx, case, body.present)
    decision = _record_decision(
        ctx, case, panel, "ratification", chairs.outcome, chairs.reasons, body.present, excluded,
        list(chairs.conditions), chairs.approved_cost, supersedes_id=chairs.id, budget_impact=chairs.budget_impact,
    )  # fmt: skip
    chairs.ratification = "ratified"
    detail = {"panel_id": str(panel.id), "present": decision.present, "excluded": excluded, "note": body.note}
    await simple_transition(ctx, case, Action.RATIFY, detail={**detail, "chairs_action": str(chairs.id)})
    case.ratification_due = None
    emit_case_event(
        ctx.uow,
        case,
        "ifr.decision.ratified",
        decision_id=chairs.id,
        outcome=chairs.outcome,
        panel_id=panel.id,
        ratified_on=ctx.today,
    )


async def overturn(ctx: ActionContext, case: IfrRequest, body: DecideIn) -> None:
    chairs, earlier = await chairs_action_awaiting(ctx, case)
    cost = _funded_cost(case, body, ctx.today)
    try:
        check_overturn(
            DecisionTerms(chairs.outcome, tuple(chairs.conditions), chairs.approved_cost),
            DecisionTerms(body.outcome.value, tuple(body.conditions), cost),
        )
    except GuardFailed as exc:
        raise field_problem("outcome", str(exc)) from None
    panel, excluded = await _quorate_panel(ctx, case, body.present)
    decision = _record_decision(
        ctx, case, panel, "ratification", body.outcome, body.reasons.model_dump(), body.present, excluded,
        list(body.conditions), cost, supersedes_id=chairs.id, budget_impact=_shown(body),
    )  # fmt: skip
    chairs.ratification = "overturned"
    detail = {"outcome": body.outcome.value, "panel_id": str(panel.id), "present": decision.present}
    await simple_transition(
        ctx, case, Action.OVERTURN, detail={**detail, "excluded": excluded, "chairs_action": str(chairs.id)}
    )
    case.outcome, case.ratification_due = body.outcome.value, None
    _announce(ctx, case, decision, earlier)
