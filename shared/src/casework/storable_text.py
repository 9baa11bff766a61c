"""Refuse text PostgreSQL cannot store, before any route sees it, with a 422 naming the field.

JSON may carry U+0000 and lone surrogates (`"\\u0000"`, `"\\ud800"`) and a query string may carry
`%00`; pydantic accepts them as ordinary strings, and only the database refuses them (no NUL in
`text`; a lone surrogate is not UTF-8), which would surface as a 500 for what is a client's mistake.
One check here covers every route of every service, so no schema needs its own validator.

The same pass refuses a query parameter that carries a patient identifier (`nhs_number`): URLs are
written to access logs, so NHS numbers travel in POST bodies (`casework.patient_search`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.patient_data import IDENTIFIER_IN_URL, identifier_in_query
from casework.problems import problem_response

MESSAGE = "contains a character that cannot be stored (NUL or an unpaired surrogate)"


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_unstorable(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in a parsed JSON document that cannot be stored."""
    for where, text in _strings(value, path):
        if unstorable(text):
            return where or "body"
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def _query_field(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if unstorable(name) or unstorable(value):
            return name if not unstorable(name) else "query"
    return None


def _body_field(body: bytes) -> str | None:
    if b"\\u" not in body and b"\x00" not in body:  # nothing escaped: nothing to find (the common case)
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: FastAPI answers that itself
    return first_unstorable(document)


class StorableTextGuard:
    """ASGI middleware: JSON bodies are read once here and handed on unchanged to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (identifier := identifier_in_query(scope.get("query_string", b""))) is not None:
            await _refuse(identifier, IDENTIFIER_IN_URL, "identifier_in_url", scope, receive, send)
            return
        field = _query_field(scope)
        if field is None and _is_json(scope):
            body, receive = await _buffered(receive)
            field = _body_field(body)
        if field is None:
            await self.app(scope, receive, send)
            return
        await _refuse(field, MESSAGE, "unstorable_text", scope, receive, send)


async def _refuse(field: str, message: str, kind: str, scope: Scope, receive: Receive, send: Send) -> None:
    errors = [{"field": field, "message": message, "type": kind}]
    response = problem_response(422, "Validation failed", f"{field}: {message}", Request(scope), errors=errors)
    await response(scope, receive, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: disconnect, as the server reports it

    return body, replay
