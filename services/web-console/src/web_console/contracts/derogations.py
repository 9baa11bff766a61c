"""Derogations from a service specification: raised on a contract with an action plan and a due date,
then moved through their states by the buttons the API allows now (`allowed_actions`). Each move posts
the version the page was read at, so a derogation changed meanwhile says so (412) and nothing moves."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.contracts.form_rows import filled_rows, problems_at_fields, row_fields
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, read
from web_console.forms import FormErrors
from web_console.pages import long_date, render

router = APIRouter()
COMMISSIONER_ROLES = ("contract_manager", "finance_lead")
STALE = "This derogation changed since you opened it. Check it below, then try again."
PLANNED_ACTION = (
    Field("action", "Action"),
    Field("owner", "Owner", hint="Who at the trust does it"),
    Field("due_date", "Due", "date"),
)
ACTION_PLAN_ROWS = tuple(row_fields("action_plan", i, PLANNED_ACTION, "Planned action") for i in range(3))
RAISE_FIELDS = (
    Field("service_specification", "Service specification", hint="For example 170004/S", width="10"),
    Field("description", "What the trust cannot meet, and why", "textarea"),
    Field("due_date", "Date the trust must meet the specification by", "date"),
    *(f for row in ACTION_PLAN_ROWS for f in row),
)
# The buttons, in the API's words for the moves (DEROGATION_MACHINE in contract-service)
ACTIONS = {
    "agree": "Agree the derogation",
    "reject": "Reject it",
    "extend": "Extend the due date",
    "deliver": "Record it as delivered",
    "breach": "Record a breach",
    "agree-recovery": "Agree a recovery plan",
    "sanction": "Apply a sanction",
    "withdraw": "Withdraw it",
}
NEEDS_DUE_DATE = ("extend", "agree-recovery")
DONE = {
    "raised": "The derogation was raised",
    "agree": "The derogation was agreed",
    "reject": "The derogation was rejected",
    "extend": "The due date was extended",
    "deliver": "The derogation was recorded as delivered",
    "breach": "A breach was recorded",
    "agree-recovery": "The recovery plan was agreed",
    "sanction": "A sanction was recorded",
    "withdraw": "The derogation was withdrawn",
}
HISTORY = {
    "propose": "Raised",
    "agree": "Agreed",
    "reject": "Rejected",
    "extend": "Due date extended",
    "deliver": "Delivered",
    "breach": "Breach recorded",
    "agree-recovery": "Recovery plan agreed",
    "sanction": "Sanction applied",
    "withdraw": "Withdrawn",
}
STEP_FIELDS = (
    Field("due_date", "New due date", "date", hint="Only to extend the due date or agree a recovery plan"),
    Field("note", "Note", "textarea", optional=True),
)


async def _raise_form(
    request: Request,
    apis: Apis,
    contract_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    contract = await apis.contract.get(f"/contracts/{contract_id}")
    return render(
        request,
        "contracts/derogation_new.html",
        status_code=status_code,
        title=f"Raise a derogation: {contract['title']}",
        contract=contract,
        fields=RAISE_FIELDS[:3],
        action_plan_rows=ACTION_PLAN_ROWS,
        values=values or {},
        errors=errors,
        shown_fields=anchors(RAISE_FIELDS),
    )


@router.get("/contracts/{contract_id}/derogations/new")
async def new_derogation(request: Request, contract_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    return await _raise_form(request, apis, contract_id)


@router.post("/contracts/{contract_id}/derogations/new")
async def raise_derogation(
    request: Request, contract_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, RAISE_FIELDS)
    rows = filled_rows(shown, "action_plan", (f.name for f in PLANNED_ACTION), len(ACTION_PLAN_ROWS))
    if not rows:
        errors.add("action_plan.0.action", "Give at least one action of the plan")
    if errors:
        return await _raise_form(request, apis, contract_id, values=shown, errors=errors, status_code=422)
    try:
        raised = await apis.contract.post(f"/contracts/{contract_id}/derogations", body, idempotent=True)
    except ApiProblem as problem:
        if problem.status not in (409, 422):
            raise
        found = problems_at_fields(problem, RAISE_FIELDS, renumber={"action_plan": rows})
        return await _raise_form(request, apis, contract_id, values=shown, errors=found, status_code=problem.status)
    return RedirectResponse(f"/derogations/{raised.body['id']}?done=raised", status_code=303)


async def _page(
    request: Request,
    apis: Apis,
    session: Any,
    derogation_id: uuid.UUID,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    derogation = await apis.contract.get(f"/derogations/{derogation_id}")
    contract = await apis.contract.get(f"/contracts/{derogation['contract_id']}")
    can_change = session.user.has_any(*COMMISSIONER_ROLES)
    actions = [(a, ACTIONS[a]) for a in derogation["allowed_actions"] if a in ACTIONS] if can_change else []
    dated = any(a in NEEDS_DUE_DATE for a, _ in actions)  # the new-date boxes only when a move takes one
    return render(
        request,
        "contracts/derogation.html",
        status_code=status_code,
        title=f"Derogation from {derogation['service_specification']}",
        derogation=derogation,
        contract=contract,
        rows=_rows(derogation),
        actions=actions,
        step_fields=STEP_FIELDS if dated else STEP_FIELDS[1:],
        history_words=HISTORY,
        values=values or {},
        errors=errors,
        shown_fields=anchors(STEP_FIELDS),
        done=DONE.get(done or ""),
    )


def _rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Trust", d["provider_ods"]),
        ("Service specification", d["service_specification"]),
        ("What the trust cannot meet", d["description"]),
        ("Due", long_date(d["due_date"]) + (" (overdue)" if d["overdue"] else "")),
    ]


@router.get("/derogations/{derogation_id}")
async def derogation(
    request: Request, derogation_id: uuid.UUID, session: CurrentSession, apis: UserApis, done: str | None = None
) -> Response:
    return await _page(request, apis, session, derogation_id, done=done)


@router.post("/derogations/{derogation_id}")
async def move_derogation(
    request: Request, derogation_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    action = str(form.get("action", ""))
    body, shown, errors = read(form, STEP_FIELDS)
    if action not in ACTIONS:
        errors.general.append("That cannot be done to a derogation.")
        return await _page(request, apis, session, derogation_id, errors=errors, values=shown, status_code=404)
    if action not in NEEDS_DUE_DATE:
        body.pop("due_date", None)  # only these two moves set a new one
    if not errors:
        try:
            version = str(form.get("version", ""))
            await apis.contract.post(f"/derogations/{derogation_id}/{action}", body, if_match=f'W/"{version}"')
            return RedirectResponse(f"/derogations/{derogation_id}?done={action}", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (409, 412, 422, 428):
                raise
            errors, status_code = _problem(problem), problem.status
    else:
        status_code = 422
    return await _page(request, apis, session, derogation_id, errors=errors, values=shown, status_code=status_code)


def _problem(problem: ApiProblem) -> FormErrors:
    errors = FormErrors()
    if problem.status in (412, 428):
        errors.general.append(STALE)
    elif problem.status == 409:
        errors.general.append(f"That cannot be done now: {problem.detail}")
    else:
        errors = problems_at_fields(problem, STEP_FIELDS)
    return errors
