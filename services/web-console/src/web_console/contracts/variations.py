"""Agreeing a variation: an effective-dated change to a contract (a price, an activity plan, the CQUIN
rate, a service line removed). The form posts the version of the contract it was read at (If-Match),
so a contract varied meanwhile answers "This contract changed since you opened it" and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.contracts.form_rows import PLAN_HINT, activity_plan, plan_problem, problems_at_fields
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, read
from web_console.forms import FormErrors
from web_console.pages import render

router = APIRouter(prefix="/contracts/{contract_id}/variations")
STALE = "This contract changed since you opened it. Check it below, then agree the variation again."
OPS = {
    "set_price": "Set a service line's price",
    "set_activity_plan": "Set a service line's indicative activity plan",
    "set_cquin_rate": "Set the CQUIN rate",
    "remove_service_line": "Remove a service line",
}
# What each kind of change carries (the API refuses anything more)
CARRIES = {
    "set_price": ("code", "price"),
    "set_activity_plan": ("code", "activity_plan"),
    "set_cquin_rate": ("cquin_rate_pct",),
    "remove_service_line": ("code",),
}
FIELDS = (
    Field(
        "effective_date",
        "Date the change takes effect",
        "date",
        hint="Within the contract's year, for example 1 7 2026",
    ),
    Field(
        "summary", "What was agreed", "textarea", hint="The trust and NHS England read this in the contract's history"
    ),
    Field("changes.0.op", "The change", "radios", options=tuple(OPS.items())),
    Field("changes.0.code", "Service line code", hint="For a price, a plan or a removal", width="10"),
    Field("changes.0.price", "New price per unit", "money", hint="For a price", width="10"),
    Field("changes.0.activity_plan", "New indicative activity plan", hint=f"For a plan. {PLAN_HINT}"),
    Field("changes.0.cquin_rate_pct", "New CQUIN rate (%)", hint="For the CQUIN rate", width="4"),
)
BY_NAME = {f.name: f for f in FIELDS}


async def _form(
    request: Request,
    apis: Apis,
    contract_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    contract = await apis.contract.get(f"/contracts/{contract_id}")  # the version the form will post
    return render(
        request,
        "contracts/variation.html",
        status_code=status_code,
        title=f"Agree a variation: {contract['title']}",
        contract=contract,
        variation_fields=FIELDS,
        values=values or {},
        errors=errors,
        shown_fields=anchors(FIELDS),
    )


@router.get("/new")
async def new_variation(request: Request, contract_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    return await _form(request, apis, contract_id)


def _change(body: dict[str, Any], shown: dict[str, Any], errors: FormErrors) -> None:
    """Keep what the chosen change carries; an activity plan typed as twelve numbers becomes the list."""
    change = (body.get("changes") or [{}])[0]
    op = change.get("op")
    if op not in CARRIES:
        errors.add("changes.0.op", "Choose the change that was agreed")
        return
    kept = {key: change[key] for key in CARRIES[op] if key in change}
    if op == "set_activity_plan" and "activity_plan" in kept:
        field = BY_NAME["changes.0.activity_plan"]
        kept["activity_plan"] = activity_plan(str(shown[field.name]))
        if kept["activity_plan"] is None:
            errors.add(field.name, plan_problem(field.label))
    body["changes"] = [{"op": op, **kept}]


@router.post("/new")
async def agree_variation(
    request: Request, contract_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, FIELDS)
    _change(body, shown, errors)
    if errors:
        return await _form(request, apis, contract_id, values=shown, errors=errors, status_code=422)
    try:
        version = str(form.get("version", ""))
        await apis.contract.post(
            f"/contracts/{contract_id}/variations", body, if_match=f'W/"{version}"', idempotent=True
        )
    except ApiProblem as problem:
        if problem.status not in (409, 412, 422, 428):
            raise
        return await _form(
            request, apis, contract_id, values=shown, errors=_problem(problem), status_code=problem.status
        )
    return RedirectResponse(f"/contracts/{contract_id}?done=variation#variations", status_code=303)


def _problem(problem: ApiProblem) -> FormErrors:
    if problem.status in (412, 428):
        errors = FormErrors()
        errors.general.append(STALE)
        return errors
    # a change's problems come under its kind (`changes.0.set_price.price`); a change that no longer fits
    # the terms of its date (`changes[0]`) is about the service line it names
    return problems_at_fields(problem, FIELDS, drop=CARRIES, aliases={"changes.0": "changes.0.code"})
