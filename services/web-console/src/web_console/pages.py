"""Rendering pages: the Jinja environment with the NHS.UK macros, and what every page is given."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup

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


def answer(value: Any, kind: str = "text") -> str:
    """An answer as a summary list shows it: money, dates and codes in words; nothing given says so."""
    if value is None or value == "":
        return "Not given"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "money":
        return money(value)
    if kind == "date":
        return long_date(value)
    if kind == "radios":
        return labels.label(value)
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("web_console", "templates"), PackageLoader("nhsuk_frontend_jinja")]),
        undefined=ChainableUndefined,  # the NHS.UK macros read optional nested parameters
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat of every imported template per page
    )
    env.filters["long_date"] = long_date
    env.filters["money"] = money
    env.filters["label"] = labels.label
    env.filters["clock_label"] = labels.clock_label
    env.filters["answer"] = answer
    env.globals["tag_colour"] = labels.tag_colour
    env.globals["history_entry"] = labels.history_entry
    env.globals["done_text"] = labels.DONE
    env.globals["service_name"] = SERVICE_NAME
    return env


ENVIRONMENT = _environment()


# The NHS.UK macros are the costly part of a page (a worklist's filter form and tags were ~2/3 of its
# render time), and a field or a tag renders the same for the same value and problem: each is rendered
# once and kept.
class _OneProblem:
    def __init__(self, text: str | None) -> None:
        self.text = text

    def message(self, _path: str) -> dict[str, str] | None:
        return {"text": self.text} if self.text else None


@functools.lru_cache(maxsize=8192)
def _rendered_field(f: Any, value_json: str, problem: str | None) -> Markup:
    macro = ENVIRONMENT.get_template("partials/fields.html").module.field  # type: ignore[attr-defined]  # a template module's macros are made at run time
    return Markup(macro(f, {f.name: json.loads(value_json)}, _OneProblem(problem)))


def form_field(f: Any, values: Any, errors: Any) -> Markup:
    """A form field (web_console.form_fields.Field) with its value and its problem, as the macro draws it."""
    value = values.get(f.name) if values else None
    problem = errors.by_field.get(f.name) if errors else None
    return _rendered_field(f, json.dumps(value, sort_keys=True, default=str), problem)


@functools.lru_cache(maxsize=512)
def status_tag(code: Any) -> Markup:
    macro = ENVIRONMENT.get_template("partials/ui.html").module.status_tag  # type: ignore[attr-defined]  # a template module's macros are made at run time
    return Markup(macro(code))


@functools.lru_cache(maxsize=2048)
def _header(user: Any, items: tuple[tuple[str, str, bool], ...], csrf_token: str) -> Markup:
    macro = ENVIRONMENT.get_template("partials/chrome.html").module.page_header  # type: ignore[attr-defined]  # a template module's macros are made at run time
    navigation = {"items": [{"text": t, "href": h, "current": c} for t, h, c in items]}
    return Markup(macro(user, navigation, csrf_token))


def page_header(user: Any, navigation: dict[str, Any], csrf_token: str) -> Markup:
    """The header (account, sign-out form with the session's CSRF token, menu): the same for a user, a
    session and a menu position, so drawn once for each."""
    items = tuple((i["text"], i["href"], i["current"]) for i in navigation["items"])
    return _header(user, items, csrf_token)


@functools.cache
def page_footer() -> Markup:
    return Markup(ENVIRONMENT.get_template("partials/chrome.html").module.page_footer())  # type: ignore[attr-defined]  # a template module's macros are made at run time


ENVIRONMENT.globals |= {
    "form_field": form_field,
    "status_tag": status_tag,
    "page_header": page_header,
    "page_footer": page_footer,
}


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
