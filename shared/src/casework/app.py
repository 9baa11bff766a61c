"""The app factory: one FastAPI app per service, all with the same platform behaviour."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from casework.bus import ensure_topics, with_dead_letter_topics
from casework.correlation import correlation_id
from casework.events.registry import registry
from casework.logs import configure_logging, get_logger
from casework.metrics import HTTP_LATENCY, HTTP_REQUESTS
from casework.platform_routes import admin, router
from casework.problems import install_problem_handlers
from casework.runtime import ServiceDefinition, ServiceRuntime
from casework.settings import ServiceSettings
from casework.storable_text import StorableTextGuard

log = get_logger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationAndMetrics(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        cid = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        token = correlation_id.set(cid[:64])
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            correlation_id.reset(token)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        service = request.app.state.runtime.settings.service_name
        HTTP_REQUESTS.labels(service, request.method, route, response.status_code).inc()
        HTTP_LATENCY.labels(service, request.method, route).observe(time.perf_counter() - started)
        response.headers[CORRELATION_HEADER] = cid[:64]
        return response


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or definition.load_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)

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
            log.info("service stopped")

    app = FastAPI(
        title=definition.title,
        version=definition.version,
        lifespan=lifespan,
    )
    app.add_middleware(StorableTextGuard)
    app.add_middleware(CorrelationAndMetrics)
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(admin)
    for service_router in definition.routers:
        app.include_router(service_router, prefix="/api/v1")
    if definition.configure_app is not None:
        definition.configure_app(app)
    return app


async def _try_ensure_topics(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    # The broker may be down at start: the API still starts and the relay creates topics later.
    topics = with_dead_letter_topics(definition.topics + _consumed_topics(definition))
    try:
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            topics,
            settings.kafka_topic_partitions,
            settings.kafka_replication_factor,
        )
    except Exception as exc:
        log.warning("could not create topics at start", error=repr(exc))


def _consumed_topics(definition: ServiceDefinition) -> list[str]:
    return sorted({registry.get(t).topic for t in definition.handlers})
