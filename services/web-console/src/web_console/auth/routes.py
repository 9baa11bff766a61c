"""Sign-in, the provider's callback, sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from casework.logs import get_logger
from web_console.auth.oidc import SignInFailed
from web_console.deps import SIGN_IN_COOKIE, CheckedForm, CurrentSession, session_cookie_name
from web_console.pages import render

router = APIRouter()
log = get_logger(__name__)


def safe_next(path: str | None) -> str:
    """Only a path on this console (never `//elsewhere` or a full URL): no open redirect."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/sign-in")
async def sign_in(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    state = request.app.state
    url, flight = await state.sign_in.authorization_url()
    cookie = await state.sessions.start_sign_in({**flight, "next": safe_next(next)})
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        SIGN_IN_COOKIE,
        cookie,
        max_age=600,
        path="/auth",
        httponly=True,
        secure=state.settings.secure_cookies,
        samesite="lax",  # sent on the provider's top-level redirect back to the callback
    )
    return response


@router.get("/auth/callback")
async def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    app = request.app.state
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    flight = await app.sessions.take_sign_in(cookie) if cookie else None
    if flight is None or state != flight["state"]:
        return _problem(request, "This sign-in has expired or was started elsewhere.")
    if error or not code:
        return _problem(request, f"The sign-in was not completed ({error or 'no code'}).")
    try:
        user, tokens = await app.sign_in.finish(code, flight)
    except SignInFailed as failed:
        log.warning("sign-in failed", reason=str(failed))
        return _problem(request, "The identity provider's answer could not be checked.")
    value = await app.sessions.create(user, tokens)
    log.info("signed in", sub=user.sub, org=user.org, roles=sorted(user.roles))
    response = RedirectResponse(safe_next(flight.get("next")), status_code=303)
    response.delete_cookie(SIGN_IN_COOKIE, path="/auth")
    response.set_cookie(
        session_cookie_name(request),
        value,
        path="/",
        httponly=True,
        secure=app.settings.secure_cookies,
        samesite="lax",
    )
    return response


def _problem(request: Request, reason: str) -> Response:
    response = render(request, "auth/problem.html", status_code=400, reason=reason)
    response.delete_cookie(SIGN_IN_COOKIE, path="/auth")
    return response


@router.get("/sign-out")
async def confirm_sign_out(request: Request, session: CurrentSession) -> Response:
    return render(request, "auth/sign_out.html")


@router.post("/sign-out")
async def sign_out(request: Request, session: CurrentSession, form: CheckedForm) -> Response:
    app = request.app.state
    await app.sessions.end(session)
    await app.sign_in.revoke(session.tokens)
    log.info("signed out", sub=session.user.sub)
    after = app.settings.public_base_url.rstrip("/") + "/signed-out"
    response = RedirectResponse(await app.sign_in.end_session_url(session.tokens, after) or after, status_code=303)
    response.delete_cookie(session_cookie_name(request), path="/")
    return response


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "auth/signed_out.html")
