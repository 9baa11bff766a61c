"""CDF prior approval: a clinician applies for a drug on the national list (the form built from the list
entry's criteria, each a tick box with its wording) and has the answer at once; the applications list
with filters; one application with its decision and treatment; withdrawal."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from casework import clock
from web_console import budget_impact
from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import render
from web_console.paging import filtered_page, list_links
from web_console.records import APPLICATION, rows

router = APIRouter(prefix="/cdf")
APPLY_ROLES = ("clinician", "provider_system")
WITHDRAW_ROLES = (*APPLY_ROLES, "trust_cdf_lead", "cdf_manager")
CONSENT = "yes"
PATIENT_FIELDS = (
    Field("nhs_number", "NHS number", hint="10 digits, for example 943 476 5919", width="10"),
    Field("date_of_birth", "Date of birth", "date"),
    Field("planned_start", "Planned start of treatment", "date"),
    Field(
        "clinician_gmc",
        "Your GMC number",
        hint="7 digits: you must be registered with the trust's CDF lead to apply",
        width="10",
    ),
)
CONSENT_FIELD = Field(
    "consent_confirmed",
    "Consent",
    "checkboxes",
    options=((CONSENT, "The patient has consented to their data being collected for the Cancer Drugs Fund"),),
)
WITHDRAW_FIELDS = (Field("reason", "Reason for withdrawing", "textarea"),)
OTHER_YEAR = (
    "The budget impact shown was worked out for another financial year than the planned start's. Check the "
    "budget impact for that year below, then send the application."
)
LIST_FILTERS = (
    Field(
        "status",
        "Status",
        "radios",
        options=(
            ("", "Any status"),
            *((s, label(s)) for s in ("approved", "rejected", "treatment_started", "treatment_stopped", "lapsed")),
            ("withdrawn", label("withdrawn")),
        ),
    ),
    Field("clinician_gmc", "Consultant's GMC number", optional=True, width="10"),
    Field("entry_id", "National list entry", optional=True, width="20"),
)


def criteria_field(entry: dict[str, Any]) -> Field:
    """The entry's criteria, each a tick box with its wording (optional ones said so)."""
    options = tuple((c["code"], f"{c['code']}: {_worded(c)}") for c in entry["criteria"])
    return Field(
        "answers",
        "Criteria the patient meets",
        "checkboxes",
        options=options,
        hint="Tick each criterion the patient meets. Every criterion not marked optional must be met for approval.",
    )


def _worded(criterion: dict[str, Any]) -> str:
    text = str(criterion["text"])
    optional = not criterion.get("mandatory", True) and "(optional)" not in text.lower()
    return f"{text} (optional)" if optional else text


def form_fields(entry: dict[str, Any]) -> tuple[Field, ...]:
    return (*PATIENT_FIELDS, criteria_field(entry), CONSENT_FIELD)


@router.get("/apply")
async def choose_entry(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    drug: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    entries = await apis.cdf.get("/cdf/list", open_only=True, drug=drug, limit=500)
    return render(
        request,
        "cdf/apply_choose.html",
        title="Apply to the Cancer Drugs Fund",
        entries=entries["items"],
        drug=drug or "",
    )


async def _what_if(apis: Apis, user: SignedInUser, entry: dict[str, Any], on: date) -> budget_impact.Shown:
    """An approval commits the entry's expected cost on the trust's CDF line, in the planned start's year."""
    return await budget_impact.what_if(
        apis, source="cdf", provider=user.org, amount=entry.get("expected_cost"), dmd_id=entry.get("dmd_id"), on=on
    )


def _apply_form(
    request: Request,
    entry: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status_code: int = 200,
    budget: budget_impact.Shown | None = None,
) -> Response:
    fields = form_fields(entry)
    return render(
        request,
        "cdf/apply_form.html",
        status_code=status_code,
        budget=budget,
        title=f"Apply for {entry['drug_name']}",
        entry=entry,
        fields=fields,
        values=values,
        errors=errors,
        shown_fields=anchors(fields),
    )


@router.get("/apply/{entry_id}")
async def apply_page(request: Request, entry_id: str, session: CurrentSession, apis: UserApis) -> Response:
    entry = await apis.cdf.get(f"/cdf/list/{entry_id}")
    return _apply_form(request, entry, {}, budget=await _what_if(apis, session.user, entry, clock.today()))


def application_body(user: SignedInUser, entry: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The API's request from the form: every criterion answered (ticked or not), the trust the user's own."""
    ticked = set(body.pop("answers", None) or [])
    return {
        **body,
        "provider_ods": user.org,
        "entry_id": entry["entry_id"],
        "answers": {c["code"]: c["code"] in ticked for c in entry["criteria"]},
        "consent_confirmed": CONSENT in (body.get("consent_confirmed") or []),
    }


@router.post("/apply/{entry_id}")
async def apply(
    request: Request, entry_id: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    entry = await apis.cdf.get(f"/cdf/list/{entry_id}")
    fields = form_fields(entry)
    body, shown, errors = read(form, fields)
    impact = budget_impact.carried(form)
    budget = budget_impact.Shown(impact, None if impact else "it could not be worked out when the page opened")
    if not errors:
        planned = date.fromisoformat(body["planned_start"]) if body.get("planned_start") else None
        asked = impact is not None or bool(form.get(budget_impact.CHECKED))
        fitting = planned is None or budget_impact.fits(impact, entry.get("expected_cost"), planned)
        if planned is not None and asked is (impact is not None) and not fitting:
            budget = await _what_if(apis, session.user, entry, planned)  # another year: shown before sending
            return _apply_form(request, entry, shown, FormErrors(general=[OTHER_YEAR]), 422, budget)
        sent = application_body(session.user, entry, body) | ({"budget_impact": impact} if impact else {})
        try:
            created = await apis.cdf.post("/cdf/applications", sent, idempotent=True)
            return RedirectResponse(f"/cdf/applications/{created.body['id']}?done=applied", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (403, 409, 422):
                raise
            errors = FormErrors.from_problem(problem, labels_of(fields))
            if problem.status == 409 and problem.body.get("existing_id"):
                errors = FormErrors(general=[f"The patient already has a live approval for {entry_id}."])
            if budget_impact.problem_is_about_it(problem) and planned is not None:
                budget = await _what_if(apis, session.user, entry, planned)
                errors = FormErrors(general=[OTHER_YEAR])
            return _apply_form(request, entry, shown, errors, problem.status, budget)
    return _apply_form(request, entry, shown, errors, 422, budget)


@router.get("/applications")
async def applications(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    q = request.query_params
    filters = {f.name: (q.get(f.name) or "").strip() or None for f in LIST_FILTERS}
    page, errors = await filtered_page(apis.cdf, "/cdf/applications", filters, LIST_FILTERS, cursor)
    return render(
        request,
        "records/cdf_applications.html",
        status_code=422 if errors else 200,
        title="Cancer Drugs Fund applications",
        page=page,
        shown={k: v or "" for k, v in filters.items()},
        filter_fields=LIST_FILTERS,
        filtered=any(filters.values()),
        errors=errors or None,
        can_apply=session.user.has_any(*APPLY_ROLES),
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


async def _application_page(
    request: Request,
    apis: Apis,
    user: SignedInUser,
    application_id: uuid.UUID,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    record = await apis.cdf.get(f"/cdf/applications/{application_id}")
    may_withdraw = "withdraw" in record["allowed_actions"] and user.has_any(*WITHDRAW_ROLES)
    return render(
        request,
        "cdf/application.html",
        status_code=status_code,
        title=f"CDF application {record['reference']}",
        record=record,
        rows=rows(record, APPLICATION),
        withdraw_fields=WITHDRAW_FIELDS if may_withdraw else (),
        values=values or {},
        errors=errors,
        shown_fields=anchors(WITHDRAW_FIELDS),
        done=done,
    )


@router.get("/applications/{application_id}")
async def application_page(
    request: Request, application_id: uuid.UUID, session: CurrentSession, apis: UserApis, done: str | None = None
) -> Response:
    return await _application_page(request, apis, session.user, application_id, done=done)


@router.post("/applications/{application_id}/withdraw")
async def withdraw(
    request: Request, application_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, WITHDRAW_FIELDS)
    status_code = 422
    if not errors:
        try:
            version = str(form.get("version", ""))
            await apis.cdf.post(f"/cdf/applications/{application_id}/withdraw", body, if_match=f'W/"{version}"')
            return RedirectResponse(f"/cdf/applications/{application_id}?done=withdrawn", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (409, 412, 422, 428):
                raise
            status_code = problem.status
            errors = FormErrors.from_problem(problem, labels_of(WITHDRAW_FIELDS))
            if problem.status in (412, 428):
                errors = FormErrors(general=["This application changed since you opened it. Check it, then try again."])
    return await _application_page(
        request, apis, session.user, application_id, errors=errors, values=shown, status_code=status_code
    )
