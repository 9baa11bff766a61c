"""Unapproved use: the worklist of detections (a CDF drug SACT showed given with no approval), its CSV,
and the detection's page with the trust's answer and the commissioner's accept, challenge and close.
Each form posts the version the page was read at, so a detection changed meanwhile says so (412)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import long_date, render
from web_console.paging import filtered_page, list_links, passed_through_csv

router = APIRouter(prefix="/cdf/unapproved-uses")
BASE = "/cdf/unapproved-uses"
STATES = ("open", "answered", "challenged", "accepted", "closed")
FILTER_FIELDS = (
    Field("status", "State", "checkboxes", options=tuple((s, label(s)) for s in STATES), optional=True),
    Field("provider", "Trust ODS code", optional=True, width="5"),
    Field("drug", "Drug", optional=True, width="20"),
    Field("entry_id", "National list entry", optional=True, width="20"),
)
STALE = "This detection changed since you opened it. Check it below, then try again."


@dataclass(frozen=True)
class StepForm:
    action: str
    heading: str
    button: str
    fields: tuple[Field, ...]
    lead: str | None = None
    warning: bool = False


STEP_FORMS: dict[str, StepForm] = {
    "answer": StepForm(
        "answer",
        "Answer this detection",
        "Send the answer",
        (
            Field(
                "approval_reference",
                "Approval reference",
                hint="The CDF approval that covers this use, for example CDF-1A2B3C4D5E",
                width="20",
            ),
            Field(
                "explanation",
                "Or explain the use",
                "textarea",
                hint="When no approval covers it: why the drug was given",
            ),
        ),
        lead="Give the approval reference if there is one (it is checked against this patient and drug), "
        "or explain the use. Use outside agreed criteria without express authority is not funded.",
    ),
    "accept": StepForm(
        "accept", "Accept the trust's answer", "Accept", (Field("note", "Note", "textarea", optional=True),)
    ),
    "challenge": StepForm(
        "challenge",
        "Challenge the trust's answer",
        "Challenge",
        (Field("reason", "Reason for the challenge", "textarea", hint="The trust sees this and may answer again"),),
        warning=True,
    ),
    "close": StepForm(
        "close", "Close the detection", "Close", (Field("note", "Closing note", "textarea", optional=True),)
    ),
}
DONE = {
    "answer": "Your answer was sent",
    "accept": "The answer was accepted",
    "challenge": "The answer was challenged",
    "close": "The detection was closed",
}


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "status": [s for s in q.getlist("status") if s in STATES],
        "provider": (q.get("provider") or "").strip().upper() or None,
        "drug": (q.get("drug") or "").strip() or None,
        "entry_id": (q.get("entry_id") or "").strip() or None,
    }


@router.get("")
async def worklist(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    filters = _filters(request)
    page, errors = await filtered_page(apis.cdf, BASE, filters, FILTER_FIELDS, cursor)
    return render(
        request,
        "cdf/unapproved_uses.html",
        status_code=422 if errors else 200,
        title="Unapproved use of CDF drugs",
        page=page,
        shown=filters,
        filter_fields=FILTER_FIELDS,
        filtered=any(filters.values()),
        errors=errors or None,
        **list_links(request.url.query, page.get("next_cursor"), cursor),
    )


@router.get(".csv")
async def worklist_csv(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    return await passed_through_csv(apis.cdf, f"{BASE}.csv", _filters(request))


def _rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Trust", d["provider_ods"]),
        ("NHS number", d["nhs_number"] or "Not shown to you"),
        ("Drug", d["drug_name"]),
        ("National list entry", ", ".join(d["entry_ids"]) or "Not on the list that day"),
        ("Start of the regimen", long_date(d["regimen_start"])),
        ("First given", long_date(d["first_administration"])),
        ("Cycles given", str(d["cycles"])),
        ("Row of the submission", str(d["row_no"]) if d["row_no"] else "Not known"),
    ]
    if d["answered_at"]:
        if d["approval_reference"]:
            rows.append(("Approval reference given", d["approval_reference"]))
        if d["explanation"]:
            rows.append(("The trust's explanation", d["explanation"]))
        rows.append(("Answered", long_date(d["answered_at"])))
    if d["decided_at"]:
        if d["decision_note"]:
            rows.append(
                (
                    "Reason for the challenge" if d["status"] == "challenged" else "NHS England's note",
                    d["decision_note"],
                )
            )
        rows.append(("Challenged" if d["status"] == "challenged" else "Decided", long_date(d["decided_at"])))
    if d["closed_at"]:
        rows.append(("Closed", long_date(d["closed_at"])))
    return rows


async def _render(
    request: Request,
    apis: Apis,
    detection_id: uuid.UUID,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    reply = await apis.cdf.call("GET", f"{BASE}/{detection_id}")
    detection = reply.body
    forms = [STEP_FORMS[a] for a in detection["your_actions"] if a in STEP_FORMS]
    fields = [f for form in forms for f in form.fields]
    return render(
        request,
        "cdf/unapproved_use.html",
        status_code=status_code,
        title=f"Unapproved use of {detection['drug_name']}",
        detection=detection,
        rows=_rows(detection),
        forms=forms,
        values=values or {},
        errors=errors,
        shown_fields=anchors(fields),
        done=DONE.get(done or ""),
    )


@router.get("/{detection_id}")
async def detection_page(
    request: Request, detection_id: uuid.UUID, session: CurrentSession, apis: UserApis, done: str | None = None
) -> Response:
    return await _render(request, apis, detection_id, done=done)


@router.post("/{detection_id}/{action}")
async def take_step(
    request: Request, detection_id: uuid.UUID, action: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    spec = STEP_FORMS.get(action)
    if spec is None:
        errors = FormErrors()
        errors.general.append("That cannot be done to a detection.")
        return await _render(request, apis, detection_id, errors=errors, status_code=404)
    body, shown, errors = read(form, spec.fields)
    if not errors:
        try:
            version = str(form.get("version", ""))
            await apis.cdf.post(f"{BASE}/{detection_id}/{action}", body, if_match=f'W/"{version}"')
            return RedirectResponse(f"{BASE}/{detection_id}?done={action}", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (409, 412, 422, 428):
                raise
            errors = _problem(problem, spec)
            status_code = problem.status
    else:
        status_code = 422
    return await _render(request, apis, detection_id, errors=errors, values=shown, status_code=status_code)


def _problem(problem: ApiProblem, spec: StepForm) -> FormErrors:
    errors = FormErrors()
    if problem.status in (412, 428):
        errors.general.append(STALE)
    elif problem.status == 409:
        errors.general.append(f"That cannot be done now: {problem.detail}")
    else:
        errors = FormErrors.from_problem(problem, labels_of(spec.fields))
    return errors
