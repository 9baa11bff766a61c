"""Contracts: the list per provider and financial year (with the API's CSV), creating a contract with
its first budget lines, and the contract's page: schedules, service lines and prices, the indicative
activity plan, CQUIN, variations, budget lines (adding one) and derogations, as agreed now or as the
contract stood on any date. Provider users see their own trust's contracts, read-only (the API says
so: another trust's contract is a 404)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from web_console.apis import ApiProblem, Apis
from web_console.contracts.form_rows import (
    MONTHS,
    PLAN_HINT,
    activity_plan,
    filled_rows,
    plan_problem,
    problems_at_fields,
    row_fields,
)
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, read, shown_from
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import money, render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/contracts")
BASE = "/contracts"
COMMISSIONER_ROLES = ("contract_manager", "finance_lead")

FILTER_FIELDS = (
    Field("provider", "Trust ODS code", optional=True, width="5"),
    Field("fy", "Financial year", optional=True, hint="For example 2026/27", width="5"),
)
AS_OF = Field("as_of", "Show the contract as it stood on", "date")
CATEGORIES = ("tariff", "non_tariff", "excluded_drugs", "excluded_devices")
KINDS = ("cdf", "high_cost_drug", "device")
SERVICE_LINE = (
    Field("code", "Code", hint="For example CARD01", width="10"),
    Field("description", "Description"),
    Field("category", "Category", "radios", options=tuple((c, label(c)) for c in CATEGORIES)),
    Field("unit", "Unit of activity", optional=True, hint="Episode if left blank", width="10"),
    Field("price", "Price per unit", "money", width="10"),
    Field("activity_plan", "Indicative activity plan", hint=PLAN_HINT),
)
BUDGET_LINE = (
    Field("kind", "Kind", "radios", options=tuple((k, label(k)) for k in KINDS)),
    Field("dmd_id", "Drug (dm+d id)", optional=True, hint="The drug this line is for, or give a category", width="20"),
    Field("category", "Or a category", optional=True, hint="For example biologics or ifr", width="20"),
    Field("line_name", "Line name", hint="For example CDF drugs"),
    Field("budget", "Budget for the year", "money", width="10"),
)
CONTRACT = (
    Field("provider_ods", "Trust ODS code", hint="The trust that holds the contract, for example RRV", width="5"),
    Field("financial_year", "Financial year", hint="For example 2026/27", width="5"),
    Field("title", "Title", hint="For example NHS Standard Contract 2026/27: specialised services"),
    Field("contract_lead_email", "The trust's contract lead (email)", "email", optional=True),
    Field("terms.cquin_rate_pct", "CQUIN rate (%)", optional=True, hint="Leave blank for the national rate", width="4"),
    Field("terms.schedules.0.hub", "Commissioning hub code", hint="For example NW", width="10"),
    Field("terms.schedules.0.hub_name", "Commissioning hub name"),
)
SERVICE_LINE_ROWS = tuple(row_fields("terms.service_lines", i, SERVICE_LINE, "Service line") for i in range(3))
BUDGET_LINE_ROWS = tuple(row_fields("budget_lines", i, BUDGET_LINE, "Budget line") for i in range(2))
NEW_FIELDS = CONTRACT + tuple(f for row in SERVICE_LINE_ROWS + BUDGET_LINE_ROWS for f in row)
DONE = {
    "created": "The contract was created",
    "budget-line": "The budget line was added",
    "variation": "The variation was agreed",
}


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "provider": (q.get("provider") or "").strip().upper() or None,
        "fy": (q.get("fy") or "").strip() or None,
    }


@router.get("")
async def contracts(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = _filters(request)
    page, errors = await filtered_page(apis.contract, BASE, filters, FILTER_FIELDS, cursor)
    links = list_links(request.url.query, page.get("next_cursor"), cursor)
    return render(
        request,
        "contracts/contracts.html",
        status_code=422 if errors else 200,
        title="Contracts",
        page=page,
        shown=filters,
        filter_fields=FILTER_FIELDS,
        filtered=any(filters.values()),
        errors=errors or None,
        can_change=session.user.has_any(*COMMISSIONER_ROLES),
        csv_query=f"fy={filters['fy']}" if filters["fy"] else "",
        first_query=links["first_query"],
        next_query=links["next_query"],
    )


@router.get(".csv")
async def contracts_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.contract, f"{BASE}.csv", {"fy": _filters(request)["fy"]})


def _new_form(
    request: Request, values: dict[str, Any] | None = None, errors: FormErrors | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "contracts/new.html",
        status_code=status_code,
        title="Create a contract",
        contract_fields=CONTRACT,
        service_line_rows=SERVICE_LINE_ROWS,
        budget_line_rows=BUDGET_LINE_ROWS,
        values=values or {},
        errors=errors,
        shown_fields=anchors(NEW_FIELDS),
    )


@router.get("/new")
async def new_contract(request: Request, session: CurrentSession) -> Response:
    return _new_form(request)


def _read_new(form: FormData) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], FormErrors, list[int]]:
    """(the contract's body, its budget lines, the values shown again, problems, the service-line rows sent)."""
    body, shown, errors = read(form, NEW_FIELDS)
    lines = filled_rows(shown, "terms.service_lines", (f.name for f in SERVICE_LINE), len(SERVICE_LINE_ROWS))
    terms = body.setdefault("terms", {})
    hub = ((terms.get("schedules") or [{}])[0]).get("hub")
    for sent, row in zip(terms.get("service_lines") or [], lines, strict=False):
        field = SERVICE_LINE_ROWS[row][-1]
        plan = activity_plan(str(shown[field.name]))
        if plan is None:
            errors.add(field.name, plan_problem(field.label))
        sent |= {"activity_plan": plan, "hub": hub}  # one schedule from this form: every line is its hub's
    budget_lines = body.pop("budget_lines", None) or []
    return body, budget_lines, shown, errors, lines


@router.post("/new")
async def create_contract(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    body, budget_lines, shown, errors, lines = _read_new(form)
    if errors:
        return _new_form(request, shown, errors, 422)
    try:
        created = await apis.contract.post(BASE, body, idempotent=True)
    except ApiProblem as problem:
        if problem.status not in (409, 422):
            raise
        found = problems_at_fields(problem, NEW_FIELDS, renumber={"terms.service_lines": lines})
        return _new_form(request, shown, found, problem.status)
    contract_id = uuid.UUID(created.body["id"])
    rows = filled_rows(shown, "budget_lines", (f.name for f in BUDGET_LINE), len(BUDGET_LINE_ROWS))
    for row, line in zip(rows, budget_lines, strict=False):
        try:
            await apis.contract.post(f"{BASE}/{contract_id}/budget-lines", line, idempotent=True)
        except ApiProblem as problem:
            if problem.status not in (409, 422):
                raise
            return await _budget_line_refused(request, session, apis, contract_id, row, line, problem)
    return RedirectResponse(f"{BASE}/{contract_id}?done=created", status_code=303)


async def _budget_line_refused(
    request: Request,
    session: Any,
    apis: Apis,
    contract_id: uuid.UUID,
    row: int,
    line: dict[str, Any],
    problem: ApiProblem,
) -> Response:
    """The contract stands; the refused budget line comes back in the page's own form to put right."""
    errors = problems_at_fields(problem, BUDGET_LINE)
    errors.general.insert(0, f"The contract was created, but budget line {row + 1} was not added. Put it right below.")
    values = shown_from(line, BUDGET_LINE)
    return await contract_page(request, apis, session, contract_id, None, errors=errors, values=values, status_code=422)


def _as_of(request: Request) -> tuple[date | None, dict[str, Any], FormErrors]:
    """The date asked for: the page's date boxes, or `as_of=YYYY-MM-DD` in a link."""
    q = request.query_params
    day: date | None
    if q.get("as_of"):
        try:
            day = date.fromisoformat(str(q["as_of"]))
        except ValueError:
            errors = FormErrors()
            errors.add(AS_OF.name, f"{AS_OF.label} must be a real date, like 27 3 2026")
            return None, {AS_OF.name: {"day": "", "month": "", "year": ""}}, errors
        return day, shown_from({"as_of": day.isoformat()}, (AS_OF,)), FormErrors()
    body, shown, errors = read(q, (AS_OF,))
    day = date.fromisoformat(body["as_of"]) if body.get("as_of") else None
    return day, shown, errors


async def contract_page(
    request: Request,
    apis: Apis,
    session: Any,
    contract_id: uuid.UUID,
    as_of: date | None,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    as_of_shown: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    path = f"{BASE}/{contract_id}"
    contract, variations, budget_lines, derogations = await asyncio.gather(
        apis.contract.get(path, as_of=as_of.isoformat() if as_of else None),
        apis.contract.get(f"{path}/variations", limit=500),
        apis.contract.get(f"{path}/budget-lines", limit=500),
        apis.contract.get(f"{path}/derogations", limit=500),
    )
    return render(
        request,
        "contracts/contract.html",
        status_code=status_code,
        title=f"{contract['title']} ({contract['provider_ods']}, {contract['financial_year']})",
        contract=contract,
        summary=_summary(contract),
        service_lines=[_valued(line) for line in contract["terms"]["service_lines"]],
        variations=variations["items"],
        budget_lines=budget_lines["items"],
        derogations=derogations["items"],
        can_change=session.user.has_any(*COMMISSIONER_ROLES),
        as_of_field=AS_OF,
        as_of_shown=as_of_shown or {},
        budget_line_fields=BUDGET_LINE,
        values=values or {},
        errors=errors,
        shown_fields=anchors((*BUDGET_LINE, AS_OF)),
        done=DONE.get(done or ""),
        months=MONTHS,
    )


def _summary(contract: dict[str, Any]) -> list[tuple[str, str]]:
    value = contract["value"]
    return [
        ("Trust", contract["provider_ods"]),
        ("Financial year", contract["financial_year"]),
        ("The trust's contract lead", contract["contract_lead_email"] or "Not given"),
        ("Contract value (indicative activity × price)", money(value["total"])),
        ("Excluded drugs and devices", money(value["excluded_drugs_and_devices"])),
        ("CQUIN base (value without excluded drugs and devices)", money(value["cquin_base"])),
        ("CQUIN rate", f"{value['cquin_rate_pct']}%"),
        ("CQUIN value", money(value["cquin_value"])),
        ("Variations in force", ", ".join(str(s) for s in contract["variations_applied"]) or "None"),
    ]


def _valued(line: dict[str, Any]) -> dict[str, Any]:
    """A service line with its planned activity and value (price x the plan's sum), as the API counts them."""
    planned = sum((Decimal(str(n)) for n in line["activity_plan"]), Decimal(0))
    return {**line, "planned": f"{planned.normalize():f}", "value": Decimal(str(line["price"])) * planned}


@router.get("/{contract_id}")
async def contract(
    request: Request,
    contract_id: uuid.UUID,
    session: CurrentSession,
    apis: UserApis,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    as_of, shown, errors = _as_of(request)
    return await contract_page(
        request,
        apis,
        session,
        contract_id,
        as_of,
        done=done,
        errors=errors or None,
        as_of_shown=shown,
        status_code=422 if errors else 200,
    )


@router.post("/{contract_id}/budget-lines")
async def add_budget_line(
    request: Request, contract_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, BUDGET_LINE)
    if not errors:
        try:
            await apis.contract.post(f"{BASE}/{contract_id}/budget-lines", body, idempotent=True)
            return RedirectResponse(f"{BASE}/{contract_id}?done=budget-line#budget-lines", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (409, 422):
                raise
            errors = problems_at_fields(problem, BUDGET_LINE)
    return await contract_page(request, apis, session, contract_id, None, errors=errors, values=shown, status_code=422)
