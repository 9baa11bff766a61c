"""Validation queries on drug expenditure returns, for both sides: the worklist with the API's filters
and its CSV; a query's page (its lines, the evidence, what funding it withholds or released) where the
trust accepts the challenge or disputes it with evidence (a document attached), and the commissioner
upholds the challenge, accepts the evidence or withdraws it. Mails link to the query's page. Each form
posts the version the page was read at, so a query changed meanwhile says so (412)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import long_date, money, render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/validation-queries")
BASE = "/validation-queries"
STATES = ("raised", "disputed", "accepted", "upheld", "evidence_accepted", "withdrawn")
RESPONDERS = ("trust_finance", "trust_pharmacist")
NOT_FUNDED, FUNDED = ("accepted", "upheld"), ("evidence_accepted", "withdrawn")
FILTER_FIELDS = (
    Field("status", "Status", "radios", options=tuple((s, label(s)) for s in STATES), optional=True),
    Field("period", "Month of the return", hint="For example 2026-11", optional=True, width="10"),
    Field("fy", "Financial year", hint="For example 2026/27", optional=True, width="10"),
)
TRUST_FILTER = Field("provider", "Trust ODS code", optional=True, width="5")
EVIDENCE_FILE = Field(
    "file", "Attach a document (optional)", hint="A PDF or Word (DOCX) document, for example the Blueteq approval form"
)
RESOLUTIONS = (
    ("uphold_challenge", "Uphold the challenge: the lines are not funded"),
    ("accept_evidence", "Accept the evidence: the lines are funded"),
    ("withdraw", "Withdraw the challenge: it was raised in error, the lines are funded"),
)
STALE = "This validation query changed since you opened it. Check it below, then try again."


@dataclass(frozen=True)
class QueryForm:
    name: str  # the console's path for it
    endpoint: str  # the API's: response (the trust) or resolution (the commissioner)
    heading: str
    button: str
    fields: tuple[Field, ...]
    action: str | None = None  # fixed for a trust's form; the commissioner chooses one
    lead: str | None = None
    takes_document: bool = False


FORMS: dict[str, QueryForm] = {
    "dispute": QueryForm(
        "dispute",
        "response",
        "Dispute the challenge",
        "Send the dispute",
        (
            Field("evidence_text", "Your evidence", "textarea", hint="Why the spend was approved or should be funded"),
            Field(
                "evidence_reference",
                "Approval reference",
                hint="For example a Blueteq, CDF or IFR reference",
                optional=True,
                width="20",
            ),
        ),
        action="dispute",
        lead="NHS England reads your evidence and upholds the challenge or funds the lines.",
        takes_document=True,
    ),
    "accept": QueryForm(
        "accept",
        "response",
        "Accept the challenge",
        "Accept the challenge",
        (),
        action="accept",
        lead="The challenged lines will not be funded.",
    ),
    "resolution": QueryForm(
        "resolution",
        "resolution",
        "Settle the query",
        "Record the decision",
        (
            Field("action", "Your decision", "radios", options=RESOLUTIONS),
            Field("note", "Note for the trust", "textarea", hint="The trust reads this with the outcome"),
        ),
    ),
}
DONE = {
    "dispute": "Your dispute was sent",
    "accept": "You accepted the challenge",
    "resolution": "Your decision was recorded",
}


def _filter_fields(user: SignedInUser) -> tuple[Field, ...]:
    return (TRUST_FILTER, *FILTER_FIELDS) if user.is_commissioner else FILTER_FIELDS


def _filters(request: Request, user: SignedInUser) -> dict[str, Any]:
    q = request.query_params
    filters: dict[str, Any] = {f.name: (q.get(f.name) or "").strip() or None for f in _filter_fields(user)}
    if filters.get("provider"):
        filters["provider"] = filters["provider"].upper()
    if filters["status"] not in (None, *STATES):
        filters["status"] = None
    return filters


@router.get("")
async def worklist(
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
        "returns/validation_queries.html",
        status_code=422 if errors else 200,
        title="Validation queries",
        page=page,
        shown=filters,
        filter_fields=fields,
        filtered=any(filters.values()),
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def worklist_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.contract, f"{BASE}.csv", _filters(request, session.user))


def _funding(query: dict[str, Any]) -> str:
    """What the query does to the trust's funding, in money: withheld while open, then settled."""
    value = money(query["challenged_value"])
    if query["status"] in NOT_FUNDED:
        return f"{value} not funded"
    if query["status"] in FUNDED:
        return f"{money(query['funded_adjustment'])} funded on resolution"
    return f"{value} withheld from funding until the query is settled"


def _rows(q: dict[str, Any]) -> list[tuple[str, str]]:
    from_cdf = q.get("source") == "cdf_unapproved_use"  # raised by the CDF's challenge of an unapproved use
    rows = [
        *([("About", q["subject"])] if from_cdf and q.get("subject") else []),
        ("Trust", q["provider_ods"]),
        ("Month of the first administration" if from_cdf else "Month of the return", q["period"]),
        ("Value challenged", money(q["challenged_value"])),
        ("Lines challenged", str(q["lines_count"])),
        ("Raised", long_date(q["raised_at"])),
        ("Respond by", long_date(q["respond_by"]) + (" (overdue)" if q["response_overdue"] else "")),
        ("Funding", _funding(q)),
    ]
    if q["responded_at"]:
        rows += [(k, v) for k, v in (("The trust's evidence", q["evidence_text"]),) if v]
        rows += [(k, v) for k, v in (("Approval reference given", q["evidence_reference"]),) if v]
        rows.append(("The trust responded", long_date(q["responded_at"])))
    if q["resolved_at"]:
        rows += [(k, v) for k, v in (("NHS England's note", q["resolution_note"]),) if v]
        rows.append(("Settled", long_date(q["resolved_at"])))
    return rows


def forms_for(user: SignedInUser, query: dict[str, Any]) -> list[QueryForm]:
    """The forms the query's state allows and the user's side may use (the commissioner's choices
    narrowed to the decisions the state allows)."""
    allowed = set(query["allowed_actions"])
    if user.is_commissioner:
        choices = tuple(option for option in RESOLUTIONS if option[0] in allowed)
        if not choices:
            return []
        spec = FORMS["resolution"]
        decision = replace(spec.fields[0], options=choices)
        return [replace(spec, fields=(decision, *spec.fields[1:]))]
    if not user.has_any(*RESPONDERS):
        return []
    return [FORMS[name] for name in ("dispute", "accept") if FORMS[name].action in allowed]


async def _render(
    request: Request,
    apis: Apis,
    user: SignedInUser,
    query_id: uuid.UUID,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    query = await apis.contract.get(f"{BASE}/{query_id}")
    forms = forms_for(user, query)
    fields = [f for form in forms for f in form.fields] + ([EVIDENCE_FILE] if forms else [])
    return render(
        request,
        "returns/validation_query.html",
        status_code=status_code,
        title=f"Validation query {query['reference']}",
        query=query,
        rows=_rows(query),
        forms=forms,
        file_field=EVIDENCE_FILE,
        values=values or {},
        errors=errors,
        shown_fields=anchors(fields),
        done=DONE.get(done or ""),
    )


@router.get("/{query_id}")
async def query_page(
    request: Request, query_id: uuid.UUID, session: CurrentSession, apis: UserApis, done: str | None = None
) -> Response:
    return await _render(request, apis, session.user, query_id, done=done)


@router.get("/{query_id}/documents/{document_id}")
async def evidence_download(
    request: Request, query_id: uuid.UUID, document_id: uuid.UUID, session: CurrentSession, apis: UserApis
) -> Response:
    return await passed_through_csv(apis.contract, f"{BASE}/{query_id}/documents/{document_id}", {})


def _evidence(form: FormData, spec: QueryForm, body: dict[str, Any], errors: FormErrors) -> UploadFile | None:
    """The document to attach, if one was chosen; the console's own checks of a dispute's evidence."""
    if not spec.takes_document:
        return None
    if not (body.get("evidence_text") or body.get("evidence_reference")):
        errors.add("evidence_text", "Your evidence: say why the spend should be funded, or give an approval reference")
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return None
    if not file.filename.lower().endswith((".pdf", ".docx")):
        errors.add("file", f"{file.filename} is not a PDF or Word (DOCX) document")
    return file


async def _send(apis: Apis, query_id: uuid.UUID, spec: QueryForm, body: dict[str, Any], form: FormData) -> None:
    if_match = f'W/"{form.get("version", "")}"'
    document = form.get("file") if spec.takes_document else None
    if isinstance(document, UploadFile) and document.filename:
        # attached first: a refused document stops the dispute, and the query's version does not move
        content = await document.read()
        files = {"file": (document.filename, content, document.content_type or "application/octet-stream")}
        await apis.contract.post(f"{BASE}/{query_id}/documents", files=files, if_match=if_match)
    action = {"action": spec.action} if spec.action else {}
    await apis.contract.post(f"{BASE}/{query_id}/{spec.endpoint}", action | body, if_match=if_match)


@router.post("/{query_id}/{form_name}")
async def answer(
    request: Request, query_id: uuid.UUID, form_name: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    spec = FORMS.get(form_name)
    if spec is None:
        errors = FormErrors()
        errors.general.append("That cannot be done to a validation query.")
        return await _render(request, apis, session.user, query_id, errors=errors, status_code=404)
    body, shown, errors = read(form, spec.fields)
    _evidence(form, spec, body, errors)
    if errors:
        return await _render(request, apis, session.user, query_id, errors=errors, values=shown, status_code=422)
    try:
        await _send(apis, query_id, spec, body, form)
    except ApiProblem as problem:
        if problem.status not in (409, 412, 413, 422, 428):
            raise
        user, errors = session.user, _problem(problem, spec)
        return await _render(request, apis, user, query_id, errors=errors, values=shown, status_code=problem.status)
    return RedirectResponse(f"{BASE}/{query_id}?done={form_name}", status_code=303)


def _problem(problem: ApiProblem, spec: QueryForm) -> FormErrors:
    errors = FormErrors()
    if problem.status in (412, 428):
        errors.general.append(STALE)
    elif problem.status == 409:
        errors.general.append(f"That cannot be done now: {problem.detail}")
    else:
        labels = labels_of((*spec.fields, EVIDENCE_FILE)) | {"file": "The document"}
        errors = FormErrors.from_problem(problem, labels)
    return errors
