"""The audit pages: one patient's timeline across the four services (the NHS number posted, never in a
URL, Modulus 11 checked at its field) and one user's, each with a posted next page and a posted CSV.
Only the IG lead and administrators see them; the services check the role again and audit every look."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casework.identifiers import is_valid_nhs_number
from web_console.apis import ApiProblem, Apis, ServiceApi
from web_console.audit.timeline import (
    LONDON,
    SERVICE_NAMES,
    Position,
    Timeline,
    merged,
    merged_csv,
    shown_row,
)
from web_console.auth.sessions import Session
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.pages import render

router = APIRouter(prefix="/audit")
PAGE = 50
AUDITORS = ("ig_lead",)  # admins pass has_any too
RANGE = (
    Field("since", "From", "date", hint="The first day to include, for example 1 11 2026", optional=True),
    Field("until", "To", "date", hint="The last day to include, for example 30 11 2026", optional=True),
)
PATIENT_FIELDS = (
    Field("nhs_number", "NHS number", hint="10 digits, for example 943 476 5919", width="10", autocomplete="off"),
    *RANGE,
)
USER_FIELDS = (
    Field(
        "subject",
        "User",
        hint="The user's sign-in identifier, as the trail names them (for example ifr-officer)",
        width="20",
    ),
    *RANGE,
)


def _ensure_auditor(session: Session) -> None:
    """The console's own check (the page has nothing to ask a service before its form is sent); the
    services check the role again on every call."""
    if not session.user.has_any(*AUDITORS):
        raise ApiProblem(403, "Forbidden", "Only the information governance lead can see the audit trail.")


def _window(body: dict[str, Any]) -> dict[str, str]:
    """The days asked for as the API's instants: from the start of the first day to the end of the last,
    in UK time."""
    window = {}
    if since := body.get("since"):
        window["since"] = datetime.combine(date.fromisoformat(since), time(), LONDON).isoformat()
    if until := body.get("until"):
        window["until"] = datetime.combine(date.fromisoformat(until) + timedelta(days=1), time(), LONDON).isoformat()
    return window


def _patient_query(form: FormData) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    body, shown, errors = read(form, PATIENT_FIELDS)
    number = re.sub(r"[\s-]", "", str(body.get("nhs_number", "")))
    if not number:
        errors.add("nhs_number", "Enter the patient's NHS number")
    elif not is_valid_nhs_number(number):
        errors.add("nhs_number", "Enter a valid NHS number: 10 digits whose last is the check digit")
    return {"nhs_number": number, **_window(body)}, shown, errors


def _user_query(form: FormData) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    body, shown, errors = read(form, USER_FIELDS)
    if not body.get("subject"):
        errors.add("subject", "Enter the user's sign-in identifier")
    return {"subject": body.get("subject", ""), **_window(body)}, shown, errors


def _at_fields(problem: ApiProblem, fields: tuple[Field, ...]) -> FormErrors:
    if problem.status != 422:
        raise problem
    return FormErrors.from_problem(problem, labels_of(fields))


def _page(
    request: Request, template: str, fields: tuple[Field, ...], shown: dict[str, Any], **context: Any
) -> Response:
    errors: FormErrors | None = context.pop("errors", None) or None
    timeline: Timeline | None = context.pop("timeline", None)
    return render(
        request,
        template,
        status_code=422 if errors else 200,
        fields=fields,
        values=shown,
        errors=errors,
        shown_fields=anchors(fields),
        rows=[shown_row(e) for e in timeline.entries] if timeline else None,
        unanswered=[SERVICE_NAMES[n] for n in timeline.unanswered] if timeline else [],
        records={SERVICE_NAMES[n]: c for n, c in timeline.records.items()} if timeline else {},
        position=timeline.position.encode() if timeline and timeline.position.more else None,
        **context,
    )


async def _timeline(apis: Apis, path: str, query: dict[str, Any], form: FormData, posted: bool) -> Timeline:
    position = Position.decode(str(form.get("position") or "")) if form.get("position") else Position.first()

    async def ask(api: ServiceApi, cursor: str | None) -> dict[str, Any]:
        asked = {**query, "limit": PAGE, "cursor": cursor}
        if posted:
            return (await api.post(path, {k: v for k, v in asked.items() if v is not None})).body
        return await api.get(path, **asked)

    return await merged(apis, ask, position, PAGE)


@router.get("")
async def patient_form(request: Request, session: CurrentSession) -> Response:
    _ensure_auditor(session)
    return _page(request, "audit/patient.html", PATIENT_FIELDS, {}, title="Who read or changed a patient's records")


@router.post("")
async def patient_trail(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    _ensure_auditor(session)
    query, shown, errors = _patient_query(form)
    timeline = None
    if not errors:
        try:
            timeline = await _timeline(apis, "/audit/patient", query, form, posted=True)
        except ApiProblem as problem:
            errors = _at_fields(problem, PATIENT_FIELDS)
    title = "Who read or changed a patient's records"
    return _page(request, "audit/patient.html", PATIENT_FIELDS, shown, title=title, errors=errors, timeline=timeline)


@router.post(".csv")
async def patient_csv(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    _ensure_auditor(session)
    query, shown, errors = _patient_query(form)
    if errors:
        title = "Who read or changed a patient's records"
        return _page(request, "audit/patient.html", PATIENT_FIELDS, shown, title=title, errors=errors)

    async def export(api: ServiceApi) -> str:
        return await api.post_text("/audit/patient.csv", query)

    text, _ = await merged_csv(apis, export)
    return _download(text, "audit-patient.csv")


@router.get("/user")
async def user_form(request: Request, session: CurrentSession) -> Response:
    _ensure_auditor(session)
    return _page(request, "audit/user.html", USER_FIELDS, {}, title="What a user looked at")


@router.post("/user")
async def user_trail(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    _ensure_auditor(session)
    query, shown, errors = _user_query(form)
    timeline = None
    if not errors:
        try:
            timeline = await _timeline(apis, "/audit/user", query, form, posted=False)
        except ApiProblem as problem:
            errors = _at_fields(problem, USER_FIELDS)
    subject = query["subject"]
    return _page(
        request,
        "audit/user.html",
        USER_FIELDS,
        shown,
        title="What a user looked at",
        errors=errors,
        timeline=timeline,
        subject=subject,
    )


@router.post("/user.csv")
async def user_csv(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    _ensure_auditor(session)
    query, shown, errors = _user_query(form)
    if errors:
        return _page(request, "audit/user.html", USER_FIELDS, shown, title="What a user looked at", errors=errors)

    async def export(api: ServiceApi) -> str:
        async with api.stream("/audit/user.csv", **query) as response:
            return (await response.aread()).decode()

    text, _ = await merged_csv(apis, export)
    return _download(text, "audit-user.csv")


def _download(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
