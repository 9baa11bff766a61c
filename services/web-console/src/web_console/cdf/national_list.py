"""The national CDF list for NHS England's CDF managers: the entries in force on a chosen day, an entry's
page (its criteria and every version), the criteria editor and closing an entry (each a new dated
version; the form posts the version read, so an entry changed meanwhile says so), and the CSV bulk
load with its problems shown row by row (all rows load or none). National analysts and everyone else
signed in read the list; only the API's admin roles may change it (its 403 is the console's)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from casework import clock
from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.cdf.sact import upload_pieces
from web_console.cdf.team import EDITOR_ROLES, CdfTeam
from web_console.deps import CheckedForm, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/cdf/list")
BASE = "/cdf/list"
SPARE_ROWS = 2  # empty criterion rows the editor offers for adding
MANDATORY = "yes"
STALE = "This list entry changed since you opened it. Check it below, then try again."
LIST_FILTERS = (
    Field("on", "In force on", "date", hint="The list as it stood that day, for example 27 3 2026"),
    Field("drug", "Drug", optional=True, width="20"),
    Field(
        "status",
        "Status",
        "radios",
        options=(("", "Any"), ("open", label("list_open")), ("closed", label("list_closed"))),
    ),
)
DATED = (
    Field("effective_from", "Takes effect from", "date", hint="A day after the current version's start"),
    Field("change_note", "Why it changes", "textarea", optional=True),
)
# named apart from the editor's (both forms are on the entry's page); sent to the API without `close.`
CLOSE_FIELDS = (
    Field(
        "close.effective_from",
        "Closed to new applications from",
        "date",
        hint="Patients already approved keep treatment",
    ),
    Field(
        "close.change_note", "Why it closes", "textarea", optional=True, hint="For example, NICE re-appraisal completed"
    ),
)
FILE = Field("file", "The list file (CSV)", hint="One row per entry version, in the list's bulk-load columns")
DONE = {"criteria": "The criteria were changed", "closed": "The entry was closed to new applications"}


def _day(form: Any, f: Field) -> tuple[date | None, FormErrors]:
    body, _shown, errors = read(form, (f,))
    return (date.fromisoformat(body[f.name]) if f.name in body else None), errors


@router.get("")
async def national_list(
    request: Request,
    session: CdfTeam,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    q = request.query_params
    on, errors = _day(q, LIST_FILTERS[0])
    filters = {"on": (on or clock.today()).isoformat(), "drug": (q.get("drug") or "").strip() or None}
    filters["status"] = q.get("status") if q.get("status") in ("open", "closed") else None
    page, problems = await filtered_page(apis.cdf, BASE, filters, LIST_FILTERS, cursor) if not errors else ({}, errors)
    return render(
        request,
        "cdf/national_list.html",
        status_code=422 if problems else 200,
        title="The national CDF list",
        page=page,
        on=on or clock.today(),
        filter_fields=LIST_FILTERS,
        shown=_shown_filters(on or clock.today(), filters),
        errors=problems or None,
        shown_fields=anchors(LIST_FILTERS),
        may_edit=session.user.has_any(*EDITOR_ROLES),
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


def _shown_filters(on: date, filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "on": {"day": str(on.day), "month": str(on.month), "year": str(on.year)},
        "drug": filters["drug"] or "",
        "status": filters["status"] or "",
    }


@router.get(".csv")
async def list_csv(
    request: Request, session: CdfTeam, apis: UserApis, on: Annotated[date | None, Query()] = None
) -> Response:
    return await passed_through_csv(apis.cdf, f"{BASE}.csv", {"on": on})


# --- the CSV bulk load ------------------------------------------------------------------------------


def _import_page(
    request: Request,
    *,
    errors: FormErrors | None = None,
    rows: list[dict[str, Any]] | None = None,
    loaded: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "cdf/list_import.html",
        status_code=status_code,
        title="Load national list versions from a file",
        file_field=FILE,
        errors=errors,
        shown_fields=anchors((FILE,)),
        row_problems=rows or [],
        loaded=loaded,
    )


@router.get("/import")
async def import_page(request: Request, session: CdfTeam) -> Response:
    return _import_page(request)


@router.post("/import")
async def import_list(request: Request, session: CdfTeam, apis: UserApis, form: CheckedForm) -> Response:
    file = form.get("file")
    errors = FormErrors()
    if not isinstance(file, UploadFile) or not file.filename:
        errors.add("file", "Choose the list file to load")
    elif not file.filename.lower().endswith(".csv"):
        errors.add("file", f"{file.filename} is not a CSV file: save the list as .csv")
    if errors or not isinstance(file, UploadFile):
        return _import_page(request, errors=errors, status_code=422)
    try:
        reply = await apis.cdf.call(
            "POST", f"{BASE}/import", content=upload_pieces(file), headers={"Content-Type": "text/csv"}
        )
    except ApiProblem as problem:
        if problem.status not in (403, 413, 415, 422):
            raise
        return _import_page(request, **_refused(file.filename or "The file", problem), status_code=problem.status)
    return _import_page(request, loaded=reply.body)


def _refused(filename: str, problem: ApiProblem) -> dict[str, Any]:
    """The file was refused whole: said at the file field; each row's problems listed with its row."""
    errors = FormErrors()
    rows = [e for e in problem.body.get("errors") or [] if isinstance(e, dict) and e.get("row") is not None]
    if problem.status == 403:
        errors.general.append("Only NHS England's CDF managers may change the national list.")
        return {"errors": errors}
    what = f"{len(rows)} problem(s) in its rows" if rows else (problem.detail or problem.title)
    errors.add("file", f"{filename} was refused and nothing was loaded: {what}")
    if not rows:
        errors.general += [f"{e['message']}" for e in problem.errors if e["field"] != "file"]
    return {"errors": errors, "rows": sorted(rows, key=lambda e: (int(e["row"]), str(e.get("field"))))}


# --- one entry: criteria, versions, the editor and closing ------------------------------------------


def criteria_fields(count: int) -> tuple[Field, ...]:
    """The editor's rows: each criterion's code, wording and whether it must be met."""
    fields: list[Field] = []
    for i in range(count):
        fields += [
            Field(f"criteria.{i}.code", "Code", optional=True, width="10", hint="For example, C1"),
            Field(f"criteria.{i}.text", "Wording", "textarea", optional=True),
            Field(
                f"criteria.{i}.mandatory",
                "Must it be met?",
                "checkboxes",
                options=((MANDATORY, "Mandatory: every application must meet it to be approved"),),
            ),
        ]
    return tuple(fields)


def _editor_values(entry: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, c in enumerate(entry["criteria"]):
        values |= {
            f"criteria.{i}.code": c["code"],
            f"criteria.{i}.text": c["text"],
            f"criteria.{i}.mandatory": [MANDATORY] if c["mandatory"] else [],
        }
    return values


def _today_shown(name: str = "effective_from") -> dict[str, Any]:
    today = clock.today()
    return {name: {"day": str(today.day), "month": str(today.month), "year": str(today.year)}}


async def _entry_page(
    request: Request,
    apis: Apis,
    user: SignedInUser,
    entry_id: str,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    editor: dict[str, Any] | None = None,
    closing: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    reply = await apis.cdf.call("GET", f"{BASE}/{entry_id}")
    entry = reply.body
    versions = await apis.cdf.get(f"{BASE}/{entry_id}/versions")
    rows = len(entry["criteria"]) + SPARE_ROWS
    fields = criteria_fields(max(rows, _rows_in(editor or {})))
    may_edit = user.has_any(*EDITOR_ROLES)
    return render(
        request,
        "cdf/list_entry.html",
        status_code=status_code,
        title=f"{entry['drug_name']}: {entry['entry_id']}",
        entry=entry,
        version=(reply.etag or "").removeprefix("W/").strip('"') or entry["version"],
        versions=list(reversed(versions)),
        may_edit=may_edit,
        criteria_fields=[fields[i : i + 3] for i in range(0, len(fields), 3)],
        dated=DATED,
        close_fields=CLOSE_FIELDS,
        editor=editor or (_editor_values(entry) | _today_shown()),
        closing=closing or _today_shown("close.effective_from"),
        errors=errors,
        shown_fields=anchors((*fields, *DATED)) if editor else anchors(CLOSE_FIELDS),
        done=DONE.get(done or ""),
    )


def _rows_in(values: dict[str, Any]) -> int:
    indexes = [int(k.split(".")[1]) for k in values if k.startswith("criteria.")]
    return max(indexes, default=-1) + 1


@router.get("/{entry_id}")
async def entry_page(
    request: Request,
    entry_id: str,
    session: CdfTeam,
    apis: UserApis,
    done: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    return await _entry_page(request, apis, session.user, entry_id, done=done)


def read_criteria(form: Any) -> tuple[dict[str, Any], dict[str, Any], FormErrors, list[int]]:
    """(the API's change, the values to show again, the console's problems, the form row of each
    criterion sent): empty rows are left out, so the API's `criteria.N` is mapped back to its row."""
    count = _rows_in({k.replace("-", "."): v for k, v in form.items() if k.startswith("criteria-")})
    body, shown, errors = read(form, (*criteria_fields(count), *DATED))
    criteria, rows = [], []
    for i in range(count):
        code, text = shown[f"criteria.{i}.code"], shown[f"criteria.{i}.text"]
        if code or text:
            mandatory = MANDATORY in shown[f"criteria.{i}.mandatory"]
            criteria.append({"code": code, "text": text, "mandatory": mandatory})
            rows.append(i)
    change = {k: v for k, v in body.items() if k != "criteria"} | {"criteria": criteria}
    return change, shown, errors, rows


def _at_rows(problem: ApiProblem, rows: list[int]) -> ApiProblem:
    """The API names the n-th criterion sent; the page names the row it was typed in."""
    for e in problem.errors:
        parts = e["field"].split(".")
        if parts[0] == "criteria" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            e["field"] = ".".join(["criteria", str(rows[int(parts[1])]), *parts[2:]])
    return problem


@router.post("/{entry_id}/criteria")
async def change_criteria(
    request: Request, entry_id: str, session: CdfTeam, apis: UserApis, form: CheckedForm
) -> Response:
    change, shown, errors, rows = read_criteria(form)
    if not errors and not change["criteria"]:
        errors.add("criteria.0.code", "An entry needs at least one criterion: give its code and wording")
    if not errors:
        try:
            await _new_version(apis, entry_id, "versions", change, str(form.get("version", "")))
            return RedirectResponse(f"{BASE}/{entry_id}?done=criteria", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (403, 409, 412, 422, 428):
                raise
            errors = _problem(_at_rows(problem, rows), (*criteria_fields(_rows_in(shown)), *DATED))
            return await _entry_page(
                request, apis, session.user, entry_id, errors=errors, editor=shown, status_code=problem.status
            )
    return await _entry_page(request, apis, session.user, entry_id, errors=errors, editor=shown, status_code=422)


@router.post("/{entry_id}/close")
async def close_entry(request: Request, entry_id: str, session: CdfTeam, apis: UserApis, form: CheckedForm) -> Response:
    body, shown, errors = read(form, CLOSE_FIELDS)
    closing = body.get("close") or {}
    if not errors and "effective_from" not in closing:
        errors.add("close.effective_from", f"{CLOSE_FIELDS[0].label}: give the day")
    if not errors:
        try:
            await _new_version(apis, entry_id, "close", closing, str(form.get("version", "")))
            return RedirectResponse(f"{BASE}/{entry_id}?done=closed", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (403, 409, 412, 422, 428):
                raise
            for e in problem.errors:
                e["field"] = f"close.{e['field']}"
            errors = _problem(problem, CLOSE_FIELDS)
            return await _entry_page(
                request, apis, session.user, entry_id, errors=errors, closing=shown, status_code=problem.status
            )
    return await _entry_page(request, apis, session.user, entry_id, errors=errors, closing=shown, status_code=422)


async def _new_version(apis: Apis, entry_id: str, step: str, body: dict[str, Any], version: str) -> None:
    await apis.cdf.post(f"{BASE}/{entry_id}/{step}", body, if_match=f'W/"{version}"')


def _problem(problem: ApiProblem, fields: tuple[Field, ...]) -> FormErrors:
    errors = FormErrors()
    if problem.status in (412, 428):
        errors.general.append(STALE)
    elif problem.status == 403:
        errors.general.append("Only NHS England's CDF managers may change the national list.")
    else:
        errors = FormErrors.from_problem(problem, labels_of(fields))
    return errors
