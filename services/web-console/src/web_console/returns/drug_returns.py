"""Drug expenditure returns: the trust's monthly patient-level CSV streamed on to contract-service,
the returns list, and a return's page with its reconciliation (authorised, unauthorised, value
challenged), the per-row problem report and its lines (patient-level: the API audits the read)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.pages import money, render
from web_console.paging import filtered_page, list_links

router = APIRouter(prefix="/drug-returns")
BASE = "/drug-returns"
SENDERS = ("trust_finance", "trust_pharmacist")  # the trust's people who send the return
UPLOAD_FIELDS = (
    Field("period", "Month of the return", hint="As year and month, for example 2026-11", width="10"),
    Field(
        "submission_id",
        "Your reference for this file",
        hint="For example, the file's name in your system. A corrected file for the month needs a new reference",
        width="20",
    ),
)
FILE = Field(
    "file",
    "The return (CSV)",
    hint="Columns nhs_number, dmd_id, indication, administered_on, quantity, cost, approval_reference, drug_name",
)
FILTER_FIELDS = (
    Field("period", "Month", hint="For example 2026-11", optional=True, width="10"),
    Field("fy", "Financial year", hint="For example 2026/27", optional=True, width="10"),
)
TRUST_FILTER = Field("provider", "Trust ODS code", optional=True, width="5")
CSV_TYPES = ("text/csv", "application/vnd.ms-excel", "application/octet-stream", "text/plain", "")
PIECE = 1 << 20  # what the console reads of the upload at a time


def may_send(user: SignedInUser) -> bool:
    return not user.is_commissioner and user.has_any(*SENDERS)


def _filter_fields(user: SignedInUser) -> tuple[Field, ...]:
    return (TRUST_FILTER, *FILTER_FIELDS) if user.is_commissioner else FILTER_FIELDS


def _filters(request: Request, user: SignedInUser) -> dict[str, Any]:
    q = request.query_params
    filters: dict[str, Any] = {f.name: (q.get(f.name) or "").strip() or None for f in _filter_fields(user)}
    if filters.get("provider"):
        filters["provider"] = filters["provider"].upper()
    return filters


@router.get("")
async def returns_list(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    fields = _filter_fields(session.user)
    filters = _filters(request, session.user)
    page, errors = await filtered_page(apis.contract, BASE, filters, fields, cursor)
    return render(
        request,
        "returns/drug_returns.html",
        status_code=422 if errors else 200,
        title="Drug expenditure returns",
        page=page,
        shown=filters,
        filter_fields=fields,
        filtered=any(filters.values()),
        may_send=may_send(session.user),
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


def _upload_page(
    request: Request, values: dict[str, Any] | None = None, errors: FormErrors | None = None, **extra: Any
) -> Response:
    return render(
        request,
        "returns/drug_return_upload.html",
        status_code=422 if errors else 200,
        title="Send a drug expenditure return",
        fields=UPLOAD_FIELDS,
        file_field=FILE,
        values=values or {},
        errors=errors,
        shown_fields=anchors((*UPLOAD_FIELDS, FILE)),
        **extra,
    )


def _not_a_sender(request: Request) -> Response:
    """Only the trust's own people send its return from here: a commissioner's upload would be filed
    under their own organisation."""
    return render(request, "errors/forbidden.html", status_code=403, problem=None)


@router.get("/upload")
async def upload_page(request: Request, session: CurrentSession) -> Response:
    return _upload_page(request) if may_send(session.user) else _not_a_sender(request)


async def _pieces(upload: UploadFile) -> AsyncIterator[bytes]:
    while piece := await upload.read(PIECE):
        yield piece


def _file_problem(file: object) -> str | None:
    if not isinstance(file, UploadFile) or not file.filename:
        return "Choose the return's CSV file to send"
    if not file.filename.lower().endswith(".csv") or (file.content_type or "") not in CSV_TYPES:
        return f"{file.filename} is not a CSV file: send the return as .csv"
    return None


@router.post("/upload")
async def upload(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    if not may_send(session.user):
        return _not_a_sender(request)
    body, shown, errors = read(form, UPLOAD_FIELDS)
    file = form.get("file")
    if problem := _file_problem(file):
        errors.add("file", problem)
    if errors or not isinstance(file, UploadFile):
        return _upload_page(request, shown, errors)
    try:
        reply = await apis.contract.call(
            "POST",
            BASE,
            params={"provider_ods": session.user.org, **body},
            content=_pieces(file),
            headers={"Content-Type": "text/csv"},
        )
    except ApiProblem as problem:
        if problem.status not in (403, 409, 413, 415, 422):
            raise
        errors, row_problems = _refused(str(file.filename), problem)
        return _upload_page(request, shown, errors, row_problems=row_problems)
    return RedirectResponse(f"{BASE}/{reply.body['id']}", status_code=303)


def _refused(filename: str, problem: ApiProblem) -> tuple[FormErrors, list[dict[str, Any]]]:
    """The API's refusal at its fields: a period or reference at theirs; a file none of whose rows
    could be kept (or whose header is not a return's) at the file field, with every row's problem."""
    rows = [e for e in problem.body.get("errors") or [] if isinstance(e, dict) and "row" in e]
    if problem.status == 409:
        errors = FormErrors()
        errors.add("submission_id", f"Your reference for this file: {problem.detail}")
        return errors, []
    named = {e["field"] for e in problem.errors} & {f.name for f in UPLOAD_FIELDS}
    if named and not rows:
        return FormErrors.from_problem(problem, labels_of(UPLOAD_FIELDS)), []
    errors = FormErrors()
    reason = "no row could be kept" if rows else (problem.detail or problem.title)
    errors.add("file", f"{filename} was refused and nothing was stored: {reason}")
    return errors, rows


def _reconciliation(record: dict[str, Any]) -> list[tuple[str, str]]:
    unauthorised = Decimal(record["submitted_value"]) - Decimal(record["authorised_value"])
    return [
        ("Trust", record["provider_ods"]),
        ("Month", record["period"]),
        ("Your reference", record["submission_id"]),
        ("Rows", f"{record['rows_total']}: {record['rows_accepted']} kept, {record['rows_rejected']} with problems"),
        ("Submitted", money(record["submitted_value"])),
        ("Authorised (an approval covers it)", money(record["authorised_value"])),
        ("Unauthorised", money(unauthorised)),
        ("Value challenged", money(record["challenged_value"])),
    ]


async def _lines(apis: Apis, return_id: uuid.UUID, cursor: str | None) -> dict[str, Any]:
    return await apis.contract.get(f"{BASE}/{return_id}/lines", limit=200, cursor=cursor)


@router.get("/{return_id}")
async def return_page(
    request: Request,
    return_id: uuid.UUID,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    record = await apis.contract.get(f"{BASE}/{return_id}")
    lines = await _lines(apis, return_id, cursor)
    return render(
        request,
        "returns/drug_return.html",
        title=f"Drug expenditure return for {record['period']}",
        record=record,
        rows=_reconciliation(record),
        lines=lines,
        cursor=cursor,
    )
