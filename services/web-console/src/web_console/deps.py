"""Dependencies of the console's routes: the signed-in session, its API clients, checked forms."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from web_console.apis import ApiProblem, Apis
from web_console.auth.sessions import Session

SESSION_COOKIE = "casework_session"
SECURE_SESSION_COOKIE = "__Host-casework_session"  # over TLS: the browser enforces Secure, Path=/, no Domain
SIGN_IN_COOKIE = "casework_sign_in"
REFRESH_BEFORE_S = 30


class SignInRequired(Exception):
    """No live session: the user signs in and comes back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FormRefused(Exception):
    """A form posted without this session's CSRF token (or after the session changed)."""


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if request.app.state.settings.secure_cookies else SESSION_COOKIE


async def signed_in(request: Request) -> Session:
    state = request.app.state
    cookie = request.cookies.get(session_cookie_name(request))
    session = await state.sessions.load(cookie) if cookie else None
    if session is None:
        raise SignInRequired(_here(request))
    if session.tokens.expires_at - time.time() < REFRESH_BEFORE_S:
        refreshed = await state.sign_in.refresh(session.tokens)
        if refreshed is None:
            await state.sessions.end(session)
            raise SignInRequired(_here(request))
        session = await state.sessions.replace_tokens(session, refreshed)
    request.state.session = session
    return session


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "") if request.method == "GET" else "/"


CurrentSession = Annotated[Session, Depends(signed_in)]


async def user_apis(request: Request, session: CurrentSession) -> Apis:
    return request.app.state.services.as_user(session.tokens.access_token)


UserApis = Annotated[Apis, Depends(user_apis)]


async def checked_form(request: Request, session: CurrentSession) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form()
    sent = str(form.get("csrf_token") or "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise FormRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def role_session(*roles: str, who: str) -> Any:
    """The signed-in session of a user with one of `roles`, else the 403 page. For screens over an API
    that every signed-in user may read (the national CDF list) but that are another team's work."""

    async def with_role(session: CurrentSession) -> Session:
        if not session.user.has_any(*roles):
            raise ApiProblem(403, "Forbidden", f"these pages are for {who}")
        return session

    return Depends(with_role)
