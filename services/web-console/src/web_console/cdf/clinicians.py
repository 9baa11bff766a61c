"""The trust's CDF lead confirms, declines or revokes the trust's clinician registrations (only a
confirmed consultant may apply). Each button posts the version the list was read at."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from web_console.apis import ApiProblem, Apis
from web_console.deps import CheckedForm, CurrentSession, UserApis
from web_console.form_fields import Field
from web_console.forms import FormErrors
from web_console.labels import label
from web_console.pages import render

router = APIRouter(prefix="/cdf/clinicians")
ACTIONS = {"confirm": "Confirm", "decline": "Decline", "revoke": "Revoke"}
DONE = {
    "confirm": "The registration was confirmed",
    "decline": "The registration was declined",
    "revoke": "The registration was revoked",
}
STATES = ("pending", "confirmed", "declined", "revoked")
STATUS_FILTER = Field("status", "Status", "radios", options=(("", "Any status"), *((s, label(s)) for s in STATES)))


async def _page(
    request: Request,
    apis: Apis,
    status: str | None,
    *,
    done: str | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    page = await apis.cdf.get("/cdf/clinicians", status=status, limit=500)
    return render(
        request,
        "cdf/clinicians.html",
        status_code=status_code,
        title="Clinicians registered for the CDF",
        page=page,
        filter_field=STATUS_FILTER,
        shown={"status": status or ""},
        actions=ACTIONS,
        done=DONE.get(done or ""),
        errors=errors,
    )


@router.get("")
async def clinicians(
    request: Request,
    session: CurrentSession,
    apis: UserApis,
    status: Annotated[str | None, Query(max_length=12)] = None,
    done: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    return await _page(request, apis, status if status in STATES else None, done=done)


@router.post("/{clinician_id}/{action}")
async def decide(
    request: Request, clinician_id: uuid.UUID, action: str, session: CurrentSession, apis: UserApis, form: CheckedForm
) -> Response:
    status = str(form.get("status") or "") or None
    errors = FormErrors()
    if action not in ACTIONS:
        errors.general.append("That cannot be done to a registration.")
        return await _page(request, apis, status, errors=errors, status_code=404)
    try:
        await apis.cdf.post(f"/cdf/clinicians/{clinician_id}/{action}", if_match=f'W/"{form.get("version", "")}"')
    except ApiProblem as problem:
        if problem.status not in (409, 412, 428):
            raise
        errors.general.append(
            "This registration changed since you opened the list. Check it, then try again."
            if problem.status != 409
            else f"That cannot be done now: {problem.detail}"
        )
        return await _page(request, apis, status, errors=errors, status_code=problem.status)
    query = f"done={action}" + (f"&status={status}" if status in STATES else "")
    return RedirectResponse(f"/cdf/clinicians?{query}", status_code=303)
