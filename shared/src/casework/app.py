"""The app factory: one FastAPI app per service, all with the same platform behaviour."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.bus import ensure_topics, with_dead_letter_topics
from casework.correlation import correlation_id
from casework.events.registry import registry
from casework.logs import configure_logging, get_logger
from casework.metrics import HTTP_LATENCY, HTTP_REQUESTS
from casework.openapi import document_problems
from casework.platform_routes import admin, router
from casework.problems import install_problem_handlers
from casework.request_body import BodyRules, RequestBodyGuard
from casework.runtime import ServiceDefinition, ServiceRuntime
from casework.settings import ServiceSettings
from casework.storable_text import StorableTextGuard
from casework.tracing import configure_tracing, flush_tracing, instrument_app

log = get_logger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationAndMetrics:
    """Correlation id for the request (taken from X-Correlation-ID or new, echoed in the answer) and the
    request count and latency metrics by route. Plain ASGI: Starlette's BaseHTTPMiddleware runs the
    app in a task of its own and streams the answer through memory channels on every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = (Headers(scope=scope).get(CORRELATION_HEADER) or str(uuid.uuid4()))[:64]
        echoed = (CORRELATION_HEADER.lower().encode(), cid.encode("latin-1", "replace"))
        status = [500]

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != echoed[0]]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        token = correlation_id.set(cid)
        # kept on the request too: an error page rendered outside this middleware still names it
        scope.setdefault("state", {})["correlation_id"] = cid
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            correlation_id.reset(token)
        route = getattr(scope.get("route"), "path", "unmatched")
        service = scope["app"].state.service_name
        HTTP_REQUESTS.labels(service, scope["method"], route, status[0]).inc()
        HTTP_LATENCY.labels(service, scope["method"], route).observe(time.perf_counter() - started)


def create_app(definition: ServiceDefinition[ServiceSettings], settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or definition.load_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(definition, settings)
        app.state.runtime = runtime
        if settings.run_workers:
            await _try_ensure_topics(definition, settings)
            runtime.start_workers()
        log.info("service started", port=settings.port)
        try:
            yield
        finally:
            await runtime.stop()
            await asyncio.to_thread(flush_tracing)  # the exporter's I/O off the event loop
            log.info("service stopped")

    app = FastAPI(
        title=definition.title,
        version=definition.version,
        lifespan=lifespan,
        # operation ids a client generator can use as method names (`apply`, `list_submissions`) instead of
        # FastAPI's path-derived ones (`apply_api_v1_cdf_applications_post`); unique per app (test_openapi)
        generate_unique_id_function=operation_id,
    )
    app.state.service_name = settings.service_name
    routers = [("", router), ("", admin), *(("/api/v1", r) for r in definition.routers)]
    app.add_middleware(StorableTextGuard)
    app.add_middleware(RequestBodyGuard, rules=BodyRules.of(settings, routers))
    app.add_middleware(CorrelationAndMetrics)
    instrument_app(app)  # outermost: the server span covers the platform's middleware too
    install_problem_handlers(app)
    for prefix, each in routers:
        app.include_router(each, prefix=prefix)
    document_problems(app)
    if definition.configure_app is not None:
        definition.configure_app(app)
    return app


async def _try_ensure_topics(definition: ServiceDefinition[ServiceSettings], settings: ServiceSettings) -> None:
    # The broker may be down at start: the API still starts and the relay creates topics later.
    topics = with_dead_letter_topics(definition.topics + _consumed_topics(definition))
    try:
        await ensure_topics(settings, topics)
    except Exception as exc:
        log.warning("could not create topics at start", error=repr(exc))


def _consumed_topics(definition: ServiceDefinition[ServiceSettings]) -> list[str]:
    return sorted({registry.get(t).topic for t in definition.handlers})


def operation_id(route: APIRoute) -> str:
    """The route function's name: what the operation does, in the service's own words."""
    return route.name
