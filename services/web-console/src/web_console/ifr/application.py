"""A clinician's IFR application: a draft saved page by page, checked answers, then submitted.

Every page saves to the API's draft (PATCH with If-Match), so the application is never only in the
browser: a clinician can stop and come back to it from their trust's list of requests.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import SignedInUser
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import anchors, labels_of, read, shown_from
from web_console.forms import FormErrors, field_id
from web_console.ifr.application_form import ALL_FIELDS, PAGE_BY_SLUG, PAGES, QuestionPage, page_of
from web_console.pages import render

router = APIRouter(prefix="/ifr/applications")


def _prefill(user: SignedInUser) -> dict[str, Any]:
    """The clinician's own details, from their sign-in (they can change them on the page)."""
    clinician: dict[str, Any] = {"name": user.name}
    if user.email:
        clinician["email"] = user.email
    if not user.is_commissioner:
        clinician["trust_ods"] = user.org
    return {"clinician": clinician}


@router.get("/new")
async def start_page(request: Request, session: CurrentSession) -> Response:
    return render(request, "ifr/application_start.html", title="Apply for individual funding")


@router.post("/new")
async def start(request: Request, session: CurrentSession, apis: UserApis, form: CheckedForm) -> Response:
    draft = (await apis.ifr.post("/ifr/requests", _prefill(session.user), idempotent=True)).body
    return RedirectResponse(f"/ifr/applications/{draft['id']}/{PAGES[0].slug}", status_code=303)


async def _draft(apis: Apis, request_id: uuid.UUID) -> dict[str, Any]:
    return await apis.ifr.get(f"/ifr/requests/{request_id}")


def _next(page: QuestionPage) -> str:
    index = PAGES.index(page)
    return PAGES[index + 1].slug if index + 1 < len(PAGES) else "check"


@router.get("/{request_id}/check")
async def check_answers(request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis) -> Response:
    draft = await _draft(apis, request_id)
    if draft["state"] != "draft":
        return RedirectResponse(f"/ifr/requests/{request_id}", status_code=303)
    return _check_page(request, draft)


def _check_page(
    request: Request, draft: dict[str, Any], errors: FormErrors | None = None, status_code: int = 200
) -> Response:
    links: dict[str, str] = {}
    if errors:
        for path in errors.by_field:
            page = page_of(path)
            if page is not None:
                links[path] = f"/ifr/applications/{draft['id']}/{page.slug}#{field_id(path)}"
    return render(
        request,
        "ifr/application_check.html",
        status_code=status_code,
        title="Check your answers before submitting",
        draft=draft,
        application=draft["application"],
        pages=PAGES,
        errors=errors,
        problem_links=links,
    )


@router.post("/{request_id}/submit")
async def submit(
    request: Request, request_id: uuid.UUID, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    try:
        reply = await apis.ifr.post(f"/ifr/requests/{request_id}/submit", {}, if_match=f'W/"{form.get("version", "")}"')
    except ApiProblem as problem:
        draft = await _draft(apis, request_id)
        if problem.status == 412:
            errors = FormErrors()
            errors.general.append("The application changed since you opened this page: check it and submit again.")
            return _check_page(request, draft, errors, 412)
        if problem.status != 422:
            raise
        return _check_page(request, draft, FormErrors.from_problem(problem, labels_of(ALL_FIELDS)), 422)
    return render(request, "ifr/application_done.html", title="Application submitted", case=reply.body)


@router.get("/{request_id}/{slug}")
async def question_page(
    request: Request, request_id: uuid.UUID, slug: str, session: CurrentSession, apis: UserApis
) -> Response:
    page = PAGE_BY_SLUG.get(slug)
    draft = await _draft(apis, request_id)
    if page is None or draft["state"] != "draft":
        return RedirectResponse(f"/ifr/requests/{request_id}", status_code=303)
    values = shown_from(draft["application"], page.fields)
    return _question(request, draft, page, values, None, request.query_params.get("return") == "check")


def _question(
    request: Request,
    draft: dict[str, Any],
    page: QuestionPage,
    values: dict[str, Any],
    errors: FormErrors | None,
    returning: bool,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "ifr/application_page.html",
        status_code=status_code,
        title=page.title,
        draft=draft,
        page=page,
        step=PAGES.index(page) + 1,
        steps=len(PAGES),
        values=values,
        errors=errors,
        shown_fields=anchors(page.fields),
        returning=returning,
        previous=PAGES[PAGES.index(page) - 1].slug if PAGES.index(page) else None,
    )


def page_changes(page: QuestionPage, body: dict[str, Any]) -> dict[str, Any]:
    """The PATCH for one page: every field it asks for, so an answer cleared on the page is cleared in
    the draft (null) rather than kept."""
    changes: dict[str, Any] = {}
    for f in page.fields:
        section, *rest = f.name.split(".")
        if not rest:
            changes[section] = body.get(section)
            continue
        if rest[0] == "previous_treatments":
            rows = [r for r in body.get(section, {}).get("previous_treatments") or [] if r]
            changes.setdefault(section, {})["previous_treatments"] = rows or None
            continue
        changes.setdefault(section, {})[rest[0]] = body.get(section, {}).get(rest[0])
    return changes


@router.post("/{request_id}/{slug}")
async def save_page(
    request: Request, request_id: uuid.UUID, slug: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    page = PAGE_BY_SLUG.get(slug)
    if page is None:
        return RedirectResponse(f"/ifr/requests/{request_id}", status_code=303)
    body, shown, errors = read(form, page.fields)
    returning = form.get("return") == "check"
    draft = await _draft(apis, request_id)
    if not errors:
        try:
            version = form.get("version") or draft["version"]
            await apis.ifr.patch(f"/ifr/requests/{request_id}", page_changes(page, body), if_match=f'W/"{version}"')
            target = "check" if returning else _next(page)
            return RedirectResponse(f"/ifr/applications/{request_id}/{target}", status_code=303)
        except ApiProblem as problem:
            if problem.status == 409:
                return RedirectResponse(f"/ifr/requests/{request_id}", status_code=303)
            if problem.status not in (412, 422):
                raise
            errors = FormErrors.from_problem(problem, labels_of(page.fields))
    return _question(request, draft, page, shown, errors, returning, 422)
