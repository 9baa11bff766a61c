"""The IFR worklist (the API's filters, sorted by the next due date), its CSV, and the case search."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web_console.apis import ApiProblem
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, read
from web_console.forms import FormErrors
from web_console.labels import REGIONS, label
from web_console.pages import render
from web_console.paging import list_links, passed_through_csv

router = APIRouter(prefix="/ifr")
STATES = (
    "received",
    "acknowledged",
    "screening",
    "returned_for_information",
    "resubmitted",
    "listed_for_panel",
    "awaiting_ratification",
    "listed_for_ratification",
    "decided",
    "reconsideration",
    "review",
    "listed_for_review",
    "review_decided",
    "redirected",
    "screened_out",
    "closed",
    "withdrawn",
    "draft",
)
STAGES = ("intake", "screening", "panel", "decided", "review", "closed")
FILTER_FIELDS = (
    Field("stage", "Stage", "radios", options=(("", "Any stage"), *((s, label(s)) for s in STAGES))),
    Field("state", "State", "checkboxes", options=tuple((s, label(s)) for s in STATES), optional=True),
    Field("trust", "Trust ODS code", optional=True, width="5"),
    Field("region", "Region", "radios", options=(("", "Any region"), *REGIONS)),
    Field("urgency", "Urgency", "radios", options=(("", "Any"), ("routine", "Routine"), ("urgent", "Urgent"))),
    Field("officer", "Case officer", optional=True, width="20"),
    Field("due_before", "Next due before", "date", optional=True),
    Field("overdue", "Overdue only", "checkboxes", options=(("true", "Only cases past a due date"),)),
    Field(
        "awaiting_ratification",
        "Chair's actions",
        "checkboxes",
        options=(("true", "Only chair's actions not yet ratified"),),
    ),
)
SEARCH_FIELDS = (
    Field("query", "NHS number or case reference", hint="For example, 943 476 5919 or IFR-2026-00042", width="20"),
)
NHS_NUMBER = re.compile(r"^\d{10}$")


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    due = {p: q.get(f"due_before[{p}]", "") for p in ("day", "month", "year")}
    due_before = None
    if all(due.values()):
        try:
            due_before = f"{int(due['year']):04d}-{int(due['month']):02d}-{int(due['day']):02d}"
        except ValueError:
            due_before = None
    return {
        "stage": q.get("stage") or None,
        "state": q.getlist("state"),
        "trust": (q.get("trust") or "").strip().upper() or None,
        "region": q.get("region") or None,
        "urgency": q.get("urgency") or None,
        "officer": (q.get("officer") or "").strip() or None,
        "due_before": due_before,
        "overdue": "true" if q.get("overdue") == "true" else None,
        "awaiting_ratification": "true" if q.get("awaiting_ratification") == "true" else None,
        "_due_parts": due,
    }


def _api_params(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if not k.startswith("_")}


@router.get("/requests")
async def worklist(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = _filters(request)
    params = _api_params(filters)
    errors = FormErrors()
    try:
        page, summary = await asyncio.gather(  # side by side: the page waits for the slower, not for both
            apis.ifr.get("/ifr/requests", **params, sort="next_due", limit=50, cursor=cursor),
            apis.ifr.get("/ifr/requests/summary", **params),
        )
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        errors = FormErrors.from_problem(problem)
        page, summary = {"items": [], "next_cursor": None}, None
    shown = {**{k: v for k, v in filters.items() if not k.startswith("_")}, "due_before": filters["_due_parts"]}
    return render(
        request,
        "ifr/worklist.html",
        title="IFR requests",
        page=page,
        summary=summary,
        filters=filters,
        shown=shown,
        filter_fields=FILTER_FIELDS,
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get("/requests.csv")
async def worklist_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.ifr, "/ifr/requests.csv", _api_params(_filters(request)))


@router.get("/search")
async def search_page(request: Request, session: CurrentSession) -> Response:
    return render(request, "ifr/search.html", title="Find an IFR case", fields=SEARCH_FIELDS, values={}, results=None)


@router.post("/search")
async def search(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    """The NHS number is posted, never put in a URL: it reaches no access log and no browser history."""
    _, shown, errors = read(form, SEARCH_FIELDS)
    text = re.sub(r"[\s-]", "", str(shown.get("query", "")))
    results = None
    if not text:
        errors.add("query", "Enter an NHS number or a case reference")
    else:
        body = {"nhs_number": text} if NHS_NUMBER.match(text) else {"reference": text}
        try:
            results = (await apis.ifr.post("/ifr/requests/search", body)).body["items"]
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors.add("query", "Enter a valid NHS number (10 digits) or a case reference like IFR-2026-00042")
    return render(
        request,
        "ifr/search.html",
        status_code=422 if errors else 200,
        title="Find an IFR case",
        fields=SEARCH_FIELDS,
        values=shown,
        errors=errors or None,
        results=results,
    )
