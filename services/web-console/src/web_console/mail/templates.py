"""Mail templates: every template with its versions, one version with its preview from the sample
data, and an edit that the API stores as the next version (or refuses at the part that is wrong,
such as a subject that would carry a patient identifier). Versions are never changed, so the form
posts the latest version it was opened at: an edit made meanwhile by someone else says so (412)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, UserApis
from web_console.form_fields import Field, anchors, labels_of, read
from web_console.forms import FormErrors
from web_console.mail.access import MailOperator
from web_console.pages import render

router = APIRouter(prefix="/mail/templates")
BASE = "/mail/templates"
Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,119}$")]
EDIT_FIELDS = (
    Field(
        "subject",
        "Subject",
        hint="One line. No patient identifiers: no NHS number, name or date of birth (the case reference is fine)",
    ),
    Field("text", "Plain-text body", "textarea", hint="Jinja2, for example {{ reference }} and {{ link }}"),
    Field("html", "HTML body", "textarea", hint="Jinja2; values are escaped"),
)
STALE = "This template changed since you opened it: a newer version is shown below. Check it, then edit again."


@router.get("")
async def templates(request: Request, operator: MailOperator, apis: UserApis) -> Response:
    listed = await apis.notification.get("/templates")
    return render(request, "mail/templates.html", title="Mail templates", templates=listed)


async def _preview(apis: Apis, name: str, version: int) -> tuple[dict[str, Any] | None, str | None]:
    """The version rendered with its sample data, or why it cannot be."""
    try:
        reply = await apis.notification.post(f"/templates/{name}/preview", {"version": version})
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return None, problem.detail
    return reply.body, None


async def _render(
    request: Request,
    apis: Apis,
    name: str,
    version: int | None,
    *,
    done: bool = False,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    shown = await apis.notification.get(f"/templates/{name}", version=version)
    preview, preview_problem = await _preview(apis, name, shown["version"])
    return render(
        request,
        "mail/template.html",
        status_code=status_code,
        title=f"Mail template {name}",
        mail_template=shown,
        preview=preview,
        preview_problem=preview_problem,
        edit_fields=EDIT_FIELDS,
        values=values or {f.name: shown[f.name] for f in EDIT_FIELDS},
        errors=errors,
        shown_fields=anchors(EDIT_FIELDS),
        done=done,
    )


@router.get("/{name}")
async def template_page(
    request: Request,
    name: Name,
    operator: MailOperator,
    apis: UserApis,
    version: Annotated[int | None, Query(ge=1)] = None,
    done: str | None = None,
) -> Response:
    return await _render(request, apis, name, version, done=done == "stored")


@router.post("/{name}")
async def store_version(
    request: Request, name: Name, operator: MailOperator, apis: UserApis, form: CheckedForm
) -> Response:
    body, shown, errors = read(form, EDIT_FIELDS)
    for f in EDIT_FIELDS:
        if f.name not in body:  # the API would say "field required"; the console can see it already
            errors.add(f.name, f"Enter the {f.label.lower()}")
    if errors:
        return await _render(request, apis, name, None, errors=errors, values=shown, status_code=422)
    try:
        version = str(form.get("version", ""))
        await apis.notification.call("PUT", f"/templates/{name}", json=body, headers={"If-Match": f'W/"{version}"'})
    except ApiProblem as problem:
        if problem.status not in (412, 422, 428):
            raise
        return await _render(
            request, apis, name, None, errors=_problem(problem), values=shown, status_code=problem.status
        )
    return RedirectResponse(f"{BASE}/{name}?done=stored", status_code=303)


def _problem(problem: ApiProblem) -> FormErrors:
    if problem.status in (412, 428):
        errors = FormErrors()
        errors.general.append(STALE)
        return errors
    errors = FormErrors()
    for entry in problem.errors:
        # The API's message starts with the part it names ("subject: uses the patient identifier …").
        path, message = entry["field"], entry["message"].split(": ", 1)[-1]
        errors.add(path, f"{labels_of(EDIT_FIELDS).get(path, 'The template')}: {message}")
    if not problem.errors:
        errors.general.append(problem.detail or problem.title)
    return errors
