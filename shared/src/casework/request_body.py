"""Request bodies: a size limit per route, enforced while the body is read, and no body read at all
for a caller without a bearer token on a route that needs one.

Every route accepts at most `REQUEST_BODY_MAX_BYTES` (1 MiB: JSON documents); an upload route names
the setting holding its own limit with `@body_limit("document_max_bytes")`. Before the app sees a
request with a body:

- a route that needs a caller (its dependencies reach `current_principal`) answers 401 when there is
  no bearer token, or the token does not verify, without reading a byte of the body;
- a declared Content-Length over the route's limit answers 413 without reading the body;
- otherwise the body is counted as it is read (by the route, a form parser or another middleware),
  and the read that passes the limit raises `ContentTooLarge`, answered as 413.

So memory held for a request is bounded by its route's limit whoever sends it. A route not declared
here (an unknown path) is treated as one that needs a caller. FastAPI's own `max_body_size` is not
used: it is fixed when a route is declared (these limits are settings), and its 413 is plain text
that replaces whatever answer was started (a 401 too), without the correlation id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.auth import VERIFIED_PRINCIPAL, Unauthorised, bearer_token, current_principal
from casework.problems import HTTPProblem, Problem, problem_response
from casework.settings import PlatformSettings

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
LIMIT_ATTRIBUTE = "__casework_body_limit__"


@dataclass(frozen=True)
class LimitSpec:
    setting: str  # the settings field holding the limit in bytes
    json_setting: str | None = None  # a smaller one for JSON bodies, where the route takes both
    overhead: int = 0  # added to the setting: a form's boundaries and headers around the file
    field: str = "body"  # the field a 413 names


def body_limit(
    setting: str, *, json: str | None = None, overhead: int = 0, field: str = "body"
) -> Callable[[Endpoint], Endpoint]:
    """Mark an upload endpoint: its body may be as large as the setting `setting` (plus `overhead`;
    `json`: another setting for JSON bodies). Put it under the route decorator."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, LIMIT_ATTRIBUTE, LimitSpec(setting, json, overhead, field))
        return endpoint

    return mark


class ContentTooLarge(HTTPProblem):
    """Raised by the counting `receive` (an HTTPException, so FastAPI's body parsing passes it on to the
    problem handlers rather than answering 400)."""

    def __init__(self, limit: int, field: str) -> None:
        message = f"larger than the {limit} bytes this route accepts"
        super().__init__(
            413,
            f"{field}: {message}",
            title="Content too large",
            errors=[{"field": field, "message": message, "type": "too_large"}],
            max_bytes=limit,
        )


@dataclass(frozen=True)
class Rule:
    """What one route accepts: its limit (by content type) and whether it needs a caller."""

    limit: int
    json_limit: int
    field: str
    needs_caller: bool

    def limit_for(self, headers: Headers) -> int:
        return self.json_limit if b"json" in headers.get("content-type", "").lower().encode() else self.limit


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    rule: Rule


class BodyRules:
    """The routes whose rule differs from the default, matched by method and path (only requests that
    carry a body are looked up, and only against these few)."""

    def __init__(self, default: Rule, routes: Sequence[_Route]) -> None:
        self.default = default
        self._routes = routes

    def rule_for(self, method: str, path: str) -> Rule:
        for route in self._routes:
            if method in route.methods and route.pattern.match(path):
                return route.rule
        return self.default

    @classmethod
    def of(cls, settings: PlatformSettings, routers: Iterable[tuple[str, APIRouter]]) -> BodyRules:
        default_limit = settings.request_body_max_bytes
        default = Rule(default_limit, default_limit, "body", needs_caller=True)
        special: list[_Route] = []
        for prefix, router in routers:
            for route in router.routes:
                if not isinstance(route, APIRoute):
                    continue
                rule = _rule(route, settings, default)
                if rule != default:
                    pattern, _, _ = compile_path(prefix + route.path)
                    special.append(_Route(frozenset(route.methods or ()), pattern, rule))
        return cls(default, special)


def _rule(route: APIRoute, settings: PlatformSettings, default: Rule) -> Rule:
    needs_caller = _reaches(route.dependant, current_principal)  # the router's dependencies included
    spec: LimitSpec | None = getattr(route.endpoint, LIMIT_ATTRIBUTE, None)
    if spec is None:
        return Rule(default.limit, default.json_limit, default.field, needs_caller)
    limit = int(getattr(settings, spec.setting)) + spec.overhead
    json_limit = int(getattr(settings, spec.json_setting)) if spec.json_setting else limit
    return Rule(limit, json_limit, spec.field, needs_caller)


def _reaches(dependant: Dependant, target: Callable[..., Any]) -> bool:
    return dependant.call is target or any(_reaches(d, target) for d in dependant.dependencies)


class RequestBodyGuard:
    """ASGI middleware (inside the correlation middleware, outside everything that reads a body)."""

    def __init__(self, app: ASGIApp, rules: BodyRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _content_length(headers)
        if declared == 0 or (declared is None and "transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # no body: nothing to limit, the route checks the caller
            return
        rule = self.rules.rule_for(scope["method"], scope["path"])
        if rule.needs_caller and (refusal := await _caller_refused(scope, headers)) is not None:
            await _answer(refusal, scope, receive, send)
            return
        limit = rule.limit_for(headers)
        if declared is not None and declared > limit:
            await _answer(ContentTooLarge(limit, rule.field), scope, receive, send)
            return
        await self._limited(limit, rule.field, scope, receive, send)

    async def _limited(self, limit: int, field: str, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ContentTooLarge(limit, field)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except ContentTooLarge as exc:  # read by a middleware, outside the app's problem handlers
            if started:
                raise
            await _answer(exc, scope, receive, send)


async def _caller_refused(scope: Scope, headers: Headers) -> Problem | None:
    """Why the caller is refused before its body is read (no token, or one that does not verify);
    None when the token verified (the principal is kept for the route's own dependency)."""
    token = bearer_token(headers.get("authorization"))
    if token is None:
        return Unauthorised("a bearer token is required")
    try:
        principal = await scope["app"].state.runtime.tokens.principal(token)
    except Problem as problem:
        return problem
    scope.setdefault("state", {})[VERIFIED_PRINCIPAL] = (token, principal)
    return None


async def _answer(problem: Problem | HTTPProblem, scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope)
    if isinstance(problem, HTTPProblem):
        response = problem_response(
            problem.status_code, problem.title, str(problem.detail), request, problem.headers, **problem.extra
        )
    else:
        response = problem_response(
            problem.status, problem.title, problem.detail, request, problem.headers, **problem.extra
        )
    await response(scope, receive, send)


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
