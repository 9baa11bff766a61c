"""Rendering pages: the Jinja environment with the NHS.UK macros, and what every page is given."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader

from web_console import labels
from web_console.navigation import navigation_for

SERVICE_NAME = "Specialised commissioning casework"


def long_date(value: Any) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return f"{value.day} {value:%B %Y} at {value:%H:%M}"
    return f"{value.day} {value:%B %Y}"


def money(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return f"£{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("web_console", "templates"), PackageLoader("nhsuk_frontend_jinja")]),
        undefined=ChainableUndefined,  # the NHS.UK macros read optional nested parameters
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["money"] = money
    env.filters["label"] = labels.label
    env.filters["clock_label"] = labels.clock_label
    env.globals["tag_colour"] = labels.tag_colour
    env.globals["history_entry"] = labels.history_entry
    env.globals["done_text"] = labels.DONE
    env.globals["service_name"] = SERVICE_NAME
    return env


ENVIRONMENT = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    user = session.user if session is not None else None
    page = ENVIRONMENT.get_template(template).render(
        request=request,
        user=user,
        csrf_token=session.csrf_token if session is not None else "",
        cspNonce=getattr(request.state, "csp_nonce", ""),
        navigation=navigation_for(user, request.url.path),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
