"""The IFR case page, and its actions: each a form (or a single button) posting to the API with the
version the page was read at, so a case changed meanwhile answers "this case changed" (412)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from casework import clock
from web_console import budget_impact
from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.ifr.action_forms import ACTION_FORMS, ActionForm
from web_console.ifr.application_form import answers
from web_console.pages import render

router = APIRouter(prefix="/ifr/requests")
STAFF = ("ifr_officer", "panel_member", "national_analyst")
STALE = "This case changed since you opened it. Check the case below, then try again."
READS = ("read", "history.read", "letters.read", "document.read")  # listed apart: who looked at the case
NOTE = (Field("text", "Add a note", "textarea", hint="Seen by commissioner staff only, never by the trust"),)
DESCRIPTION = Field("description", "Description", optional=True)
COHORT_REDIRECT = "redirect-service-development"
# The actions that decide whether to fund: their pages show the budget impact first and send it with them.
BUDGETED = ("decide", "chairs-action", "overturn")
FUNDING = ("approved", "approved_with_conditions")
CHANGED_COST = (
    "The budget impact shown was worked out for another cost or year. Check the budget impact for this "
    "decision below, then record it."
)


async def _case(apis: Apis, request_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    reply = await apis.ifr.call("GET", f"/ifr/requests/{request_id}")
    return reply.body, reply.body["version"]


async def _panel(apis: Apis, user: SignedInUser, panel_id: str | None) -> dict[str, Any] | None:
    if not panel_id or not user.has_any(*STAFF):
        return None
    try:
        return await apis.ifr.get(f"/ifr/panels/{panel_id}")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return None
        raise


@router.get("/{request_id}")
async def case_page(
    request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis, done: str | None = None
) -> Response:
    return await _render_case(request, request_id, session.user, apis, done=done)


async def _render_case(
    request: Request,
    request_id: uuid.UUID,
    user: SignedInUser,
    apis: Apis,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    case, _ = await _case(apis, request_id)
    base = f"/ifr/requests/{request_id}"
    history, documents, letters, panel = await asyncio.gather(
        apis.ifr.get(f"{base}/history"),
        apis.ifr.get(f"{base}/documents"),
        apis.ifr.get(f"{base}/letters"),
        _panel(apis, user, case.get("current_panel_id")),
    )
    actions = [ACTION_FORMS[a] for a in case["your_actions"] if a in ACTION_FORMS and _offered_here(a, user)]
    cohort_action = next((a for a in actions if a.action == COHORT_REDIRECT), None)
    actions = [a for a in actions if a.action != COHORT_REDIRECT]  # offered in the cohort alert's panel
    return render(
        request,
        "ifr/case.html",
        status_code=status_code,
        title=f"Case {case['reference']}",
        case=case,
        answers=answers(case["application"]),
        history=[h for h in history if h["action"] not in READS],
        reads=[h for h in history if h["action"] in READS],
        documents=documents,
        letters=letters,
        panel=panel,
        actions=actions,
        cohort_action=cohort_action,
        done=ACTION_FORMS.get(done) if done else None,
        done_other=done if done and done not in ACTION_FORMS else None,
        errors=errors,
        staff=user.has_any(*STAFF),
        can_attach=user.has_any("clinician", "provider_system", "ifr_officer"),
        note_field=NOTE[0],
        description_field=DESCRIPTION,
    )


def _offered_here(action: str, user: SignedInUser) -> bool:
    # a clinician submits from the check-your-answers page; an officer submits a mail draft from the case
    return action != "submit" or user.has_any("ifr_officer")


def _present_field(panel: dict[str, Any] | None) -> Field | None:
    if not panel:
        return None
    options = tuple((m["member_id"], f"{m['name']} ({m['role'].replace('_', ' ')})") for m in panel["members"])
    return Field(
        "present", "Who attended", "checkboxes", options=options, hint="Members who declared a conflict step out"
    )


async def _panel_choices(apis: Apis, case: dict[str, Any]) -> Field:
    kind = "review" if case["state"] == "review" else "ifr"
    panels = (await apis.ifr.get("/ifr/panels", upcoming=True, kind=kind, limit=50))["items"]
    options = tuple((p["id"], f"{p['name']}, {p['meeting_date']}") for p in panels)
    hint = None if options else "There is no meeting to come of this kind: set one up on the panels page first"
    return Field("panel_id", "Panel meeting", "radios", options=options, hint=hint)


async def _form_fields(apis: Apis, user: SignedInUser, form: ActionForm, case: dict[str, Any]) -> tuple[Field, ...]:
    fields = list(form.fields)
    if form.needs_panel:
        fields.insert(0, await _panel_choices(apis, case))
    if form.needs_present:
        present = _present_field(await _panel(apis, user, case.get("current_panel_id")))
        if present is not None:
            fields.append(present)
    return tuple(fields)


@router.get("/{request_id}/actions/{action}")
async def action_page(
    request: Request, request_id: uuid.UUID, action: str, session: CurrentSession, apis: UserApis
) -> Response:
    form = ACTION_FORMS.get(action)
    case, version = await _case(apis, request_id)
    if form is None or action not in case["your_actions"]:
        return await _render_case(
            request, request_id, session.user, apis, errors=_not_now(action, case), status_code=409
        )
    fields = await _form_fields(apis, session.user, form, case)
    values: dict[str, Any] = {}
    if form.needs_present:
        values["present"] = [o[0] for f in fields if f.name == "present" for o in f.options]
    shown = await _what_if(apis, case, None) if action in BUDGETED else None
    return _action_form(request, case, version, form, fields, values, budget=shown)


def _total_cost(case: dict[str, Any]) -> str | None:
    return ((case.get("application") or {}).get("treatment") or {}).get("total_cost")


def _committed(case: dict[str, Any], body: dict[str, Any]) -> str | None:
    """What the decision in the form would commit: the approved cost, else the application's total
    cost, for a funding outcome; nothing for a decline."""
    if body.get("outcome") not in FUNDING:
        return None
    cost = body.get("approved_cost")
    return str(cost) if cost not in (None, "") else _total_cost(case)


async def _what_if(apis: Apis, case: dict[str, Any], amount: str | None) -> budget_impact.Shown:
    treatment = (case.get("application") or {}).get("treatment") or {}
    return await budget_impact.what_if(
        apis,
        source="ifr",
        provider=case.get("provider_ods"),
        amount=amount or _total_cost(case),
        dmd_id=treatment.get("dmd_code"),
        on=clock.today(),  # the decision's day decides the year
    )


def _action_form(
    request: Request,
    case: dict[str, Any],
    version: int,
    form: ActionForm,
    fields: tuple[Field, ...],
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status_code: int = 200,
    budget: budget_impact.Shown | None = None,
) -> Response:
    return render(
        request,
        "ifr/action.html",
        budget=budget,
        status_code=status_code,
        title=form.heading,
        case=case,
        version=version,
        form=form,
        fields=fields,
        values=values,
        errors=errors,
        shown_fields=anchors(fields),
    )


def _not_now(action: str, case: dict[str, Any]) -> FormErrors:
    errors = FormErrors()
    errors.general.append(f"That cannot be done to this case now (it is {case['state'].replace('_', ' ')}).")
    return errors


@router.post("/{request_id}/actions/{action}")
async def take_action(
    request: Request, request_id: uuid.UUID, action: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    spec = ACTION_FORMS.get(action)
    case, _ = await _case(apis, request_id)
    if spec is None:
        return await _render_case(
            request, request_id, session.user, apis, errors=_not_now(action, case), status_code=409
        )
    fields = await _form_fields(apis, session.user, spec, case)
    body, shown, errors = read(form, fields)
    version = str(form.get("version", ""))
    budget = None
    if action in BUDGETED:
        impact = budget_impact.carried(form)
        budget = budget_impact.Shown(impact, None if impact else "it could not be worked out when the page opened")
        amount = _committed(case, body)
        asked = impact is not None or bool(form.get(budget_impact.CHECKED))
        if not errors and asked is (impact is not None) and not budget_impact.fits(impact, amount, clock.today()):
            budget = await _what_if(apis, case, amount)  # shown for another cost: shown again before recording
            errors.general.append(CHANGED_COST)
        elif impact is not None:
            body["budget_impact"] = impact
    if not errors:
        try:
            await apis.ifr.post(f"/ifr/requests/{request_id}/{action}", body, if_match=f'W/"{version}"')
            return RedirectResponse(f"/ifr/requests/{request_id}?done={action}", status_code=303)
        except ApiProblem as problem:
            errors = _action_problem(problem, fields)
            if problem.status in (409, 412, 428):
                return await _render_case(
                    request, request_id, session.user, apis, errors=errors, status_code=problem.status
                )
            if problem.status != 422:
                raise
            if budget_impact.problem_is_about_it(problem):
                budget = await _what_if(apis, case, _committed(case, body))
                errors = FormErrors(general=[CHANGED_COST])
    return _action_form(request, case, int(version or case["version"]), spec, fields, shown, errors, 422, budget)


def _action_problem(problem: ApiProblem, fields: tuple[Field, ...] = ()) -> FormErrors:
    if problem.status == 412:
        errors = FormErrors()
        errors.general.append(STALE)
        return errors
    if problem.status == 409:
        errors = FormErrors()
        errors.general.append(f"That cannot be done now: {problem.detail}")
        return errors
    errors = FormErrors.from_problem(problem, labels_of(fields))
    for shortfall in problem.body.get("quorum_missing") or []:
        errors.add("present", f"The panel is not quorate for this case: {shortfall}")
    return errors


# -- notes, documents, assignment -------------------------------------------------------------------


@router.post("/{request_id}/notes")
async def add_note(
    request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, _, errors = read(form, NOTE)
    if "text" not in body:
        errors.add("text", "Enter the note")
    if not errors:
        try:
            await apis.ifr.post(f"/ifr/requests/{request_id}/notes", body, idempotent=True)
            return RedirectResponse(f"/ifr/requests/{request_id}?done=note#notes", status_code=303)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem)
    return await _render_case(request, request_id, session.user, apis, errors=errors, status_code=422)


@router.post("/{request_id}/documents")
async def upload_document(
    request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    upload = form.get("file")
    errors = FormErrors()
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add("file", "Choose a PDF or Word document to attach")
    else:
        content = await upload.read()
        description = str(form.get("description") or "").strip() or None
        try:
            await apis.ifr.post(
                f"/ifr/requests/{request_id}/documents",
                files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
                data={"description": description} if description else None,
                idempotent=True,
            )
            return RedirectResponse(f"/ifr/requests/{request_id}?done=document#documents", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (413, 422):
                raise
            errors = FormErrors.from_problem(problem)
    return await _render_case(request, request_id, session.user, apis, errors=errors, status_code=422)


@router.get("/{request_id}/documents/{document_id}")
async def download_document(
    request_id: uuid.UUID, document_id: uuid.UUID, session: CurrentSession, apis: UserApis
) -> Response:
    async with apis.ifr.stream(f"/ifr/requests/{request_id}/documents/{document_id}") as upstream:
        content = await upstream.aread()
        headers = {"Content-Disposition": upstream.headers.get("content-disposition", "attachment")}
        media_type = upstream.headers.get("content-type", "application/octet-stream")
    return StreamingResponse(iter([content]), media_type=media_type, headers=headers)


@router.post("/{request_id}/assign")
async def assign(
    request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    officer = str(form.get("officer") or "").strip() or session.user.sub
    try:
        await apis.ifr.post(
            f"/ifr/requests/{request_id}/assign", {"officer": officer}, if_match=f'W/"{form.get("version", "")}"'
        )
    except ApiProblem as problem:
        if problem.status not in (409, 412, 422, 428):
            raise
        return await _render_case(
            request, request_id, session.user, apis, errors=_action_problem(problem), status_code=problem.status
        )
    return RedirectResponse(f"/ifr/requests/{request_id}?done=assigned", status_code=303)
