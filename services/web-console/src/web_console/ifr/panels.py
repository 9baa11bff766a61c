"""IFR panels: meetings with their members by role, the agenda, declared conflicts and the quorum."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.labels import REGIONS
from web_console.pages import render

router = APIRouter(prefix="/ifr/panels")
MEMBER_ROWS = 8
MEMBER_ROLES = (
    ("chair", "Chair"),
    ("deputy_chair", "Deputy chair"),
    ("clinician", "Clinician"),
    ("public_health", "Public health"),
    ("pharmacist", "Pharmacist"),
    ("lay_member", "Lay member"),
    ("commissioner", "Commissioner"),
)
# States whose allowed actions include list-for-panel: the cases an officer can put on an agenda.
WAITING_FOR_PANEL = ("screening", "resubmitted", "reconsideration", "review", "review_decided", "awaiting_ratification")

PANEL_FIELDS = (
    Field("name", "Name of the meeting", hint="For example, London IFR panel, December"),
    Field("kind", "Kind of panel", "radios", options=(("ifr", "IFR panel"), ("review", "Review panel"))),
    Field("region", "Region", "radios", hint="The commissioning region the panel sits for", options=REGIONS),
    Field("meeting_date", "Meeting date", "date"),
)


def member_fields(row: int) -> tuple[Field, ...]:
    return (
        Field(f"members.{row}.member_id", "User id", hint="Their sign-in user id", optional=True, width="20"),
        Field(f"members.{row}.name", "Name", optional=True),
        Field(f"members.{row}.role", "Role", "radios", options=MEMBER_ROLES, optional=True),
        Field(f"members.{row}.voting", "Voting member?", "yes_no", optional=True),
    )


ALL_MEMBER_FIELDS = tuple(f for row in range(MEMBER_ROWS) for f in member_fields(row))


@router.get("")
async def panels(request: Request, session: CurrentSession, apis: UserApis) -> Response:
    upcoming = (await apis.ifr.get("/ifr/panels", upcoming=True, limit=50))["items"]
    return render(request, "ifr/panels.html", title="IFR panels", panels=upcoming)


@router.get("/new")
async def new_panel(request: Request, session: CurrentSession) -> Response:
    return _panel_form(request, {"kind": "ifr"}, None)


def _panel_form(
    request: Request, values: dict[str, Any], errors: FormErrors | None, status_code: int = 200
) -> Response:
    return render(
        request,
        "ifr/panel_new.html",
        status_code=status_code,
        title="Set up a panel meeting",
        fields=PANEL_FIELDS,
        member_rows=[member_fields(row) for row in range(MEMBER_ROWS)],
        values=values,
        errors=errors,
        shown_fields=anchors((*PANEL_FIELDS, *ALL_MEMBER_FIELDS)),
    )


@router.post("/new")
async def create_panel(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    body, shown, errors = read(form, (*PANEL_FIELDS, *ALL_MEMBER_FIELDS))
    members = [m for m in body.get("members") or [] if m.get("member_id") or m.get("name")]
    body["members"] = [{**m, "voting": m.get("voting", True)} for m in members]
    if not members:
        errors.add("members.0.member_id", "Add at least one member")
    if not errors:
        try:
            created = (await apis.ifr.post("/ifr/panels", body, idempotent=True)).body
            return RedirectResponse(f"/ifr/panels/{created['id']}", status_code=303)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem, labels_of((*PANEL_FIELDS, *ALL_MEMBER_FIELDS)))
    return _panel_form(request, shown, errors, 422)


async def _waiting_cases(apis: Apis) -> list[dict[str, Any]]:
    page = await apis.ifr.get("/ifr/requests", state=list(WAITING_FOR_PANEL), sort="next_due", limit=100)
    return list(page["items"])


@router.get("/{panel_id}")
async def panel_page(request: Request, panel_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    return await _render_panel(request, panel_id, session.user.has_any("ifr_officer"), apis)


async def _render_panel(
    request: Request,
    panel_id: uuid.UUID,
    officer: bool,
    apis: Apis,
    errors: FormErrors | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    panel = await apis.ifr.get(f"/ifr/panels/{panel_id}")
    waiting = await _waiting_cases(apis) if officer else []
    user = request.state.session.user
    conflict_fields = conflict_form(panel, [m for m in panel["members"] if officer or m["member_id"] == user.sub])
    return render(
        request,
        "ifr/panel.html",
        status_code=status_code,
        title=panel["name"],
        panel=panel,
        waiting=waiting,
        officer=officer,
        errors=errors,
        done=done or request.query_params.get("done"),
        members={m["member_id"]: m for m in panel["members"]},
        conflict_fields=conflict_fields,
    )


@router.post("/{panel_id}/agenda")
async def add_to_agenda(
    request: Request, panel_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    cases = []
    for value in form.getlist("cases"):
        request_id, _, version = str(value).partition(":")
        if version.isdigit():
            cases.append({"request_id": request_id, "version": int(version)})
    errors = FormErrors()
    if not cases:
        errors.add("cases", "Choose at least one case to list")
    else:
        try:
            await apis.ifr.post(f"/ifr/panels/{panel_id}/agenda", {"cases": cases})
            return RedirectResponse(f"/ifr/panels/{panel_id}?done=listed", status_code=303)
        except ApiProblem as problem:
            if problem.status not in (409, 412, 422, 428):
                raise
            errors = FormErrors.from_problem(problem)
            if problem.status == 412:
                errors = FormErrors(
                    general=["A case changed since you opened this page: check the list and try again."]
                )
    return await _render_panel(request, panel_id, True, apis, errors, 422)


CONFLICT_FIELDS = (
    Field("request_id", "Case", "radios"),
    Field("member_id", "Member", "radios"),
    Field("reason", "The conflict of interest", "textarea"),
)


def conflict_form(panel: dict[str, Any], members: list[dict[str, Any]]) -> tuple[Field, ...]:
    """The conflict form for this panel: its agenda's cases, and the members the user may declare for
    (an officer any member, a member themselves)."""
    # a case can be on one agenda twice (decided, then back for ratification): offered once
    cases = tuple(dict.fromkeys((item["request_id"], item["reference"]) for item in panel["agenda"]))
    people = tuple((m["member_id"], f"{m['name']} ({m['role'].replace('_', ' ')})") for m in members)
    return (
        Field("request_id", "Case", "radios", options=cases),
        Field("member_id", "Member", "radios", options=people),
        CONFLICT_FIELDS[2],
    )


@router.post("/{panel_id}/conflicts")
async def declare_conflict(
    request: Request, panel_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    body, _, errors = read(form, CONFLICT_FIELDS)
    for f in CONFLICT_FIELDS:
        if f.name not in body:
            errors.add(f.name, f"Enter {f.label.lower()}")
    if not errors:
        try:
            await apis.ifr.post(f"/ifr/panels/{panel_id}/conflicts", body)
            return RedirectResponse(f"/ifr/panels/{panel_id}?done=conflict", status_code=303)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            errors = FormErrors.from_problem(problem, labels_of(CONFLICT_FIELDS))
    return await _render_panel(request, panel_id, session.user.has_any("ifr_officer"), apis, errors, 422)
