"""OpenTelemetry tracing: one trace from a request through the outbox, the broker and the consumers.

Off unless configured: with neither `OTEL_EXPORTER_OTLP_ENDPOINT` (an OTLP/HTTP collector) nor
`TRACE_FILE` (finished spans as JSON lines, for tests and local reading) set, no tracer provider is
installed, nothing is instrumented and no span is made; only a trace context that arrives (an HTTP
`traceparent`, a Kafka message header, a queued row's stored context) is passed on unchanged.

When configured, the process gets a tracer provider whose spans leave through a `BatchSpanProcessor`
(export in its own thread, never in the event loop), FastAPI and httpx are instrumented, and the
service's engines (`instrument_engines`) trace their statements. A statement or outgoing call made
outside any request, event or queued job (the relay's and the workers' polls) starts no trace.

W3C trace context travels with the work: `trace_headers()` is what the unit of work stores in an
outbox row's headers (the relay sends them as Kafka headers) and what a service stores with a queued
row; `continued()` runs the consumer's handler or a worker's job in a span that is a child of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from casework.logs import get_logger
from casework.settings import PlatformSettings

log = get_logger(__name__)

TRACE_HEADERS = ("traceparent", "tracestate")
# Requests that would only add noise: probes and scrapes.
UNTRACED_URLS = "health/live,health/ready,metrics"

_propagator = TraceContextTextMapPropagator()  # W3C only: no baggage travels with the events
_provider: TracerProvider | None = None  # the process's, once configure_tracing installed it
_engines_instrumented = False
_lock = threading.Lock()

Carrier = Mapping[str, Any] | Iterable[tuple[str, bytes | str]] | None


class JsonLinesSpanExporter(SpanExporter):
    """Finished spans appended to a file, one JSON object a line (ReadableSpan.to_json): what the tests
    read to follow a trace across processes, and a way to look at traces without a collector."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        try:
            with self._lock, self._path.open("a", encoding="utf-8") as out:
                out.write(lines)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class _UntracedBackgroundCalls(Sampler):
    """The root sampler: a database statement or an outgoing HTTP call that is not part of a request, an
    event or a queued job (the outbox relay's and the workers' polls, many a second) starts no trace;
    any other root span (a request, an event without context, a job) is sampled."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "UntracedBackgroundCalls"


def tracing_wanted(settings: PlatformSettings) -> bool:
    return bool(settings.otel_exporter_otlp_endpoint or settings.trace_file)


def configure_tracing(settings: PlatformSettings, name: str | None = None) -> bool:
    """Install the process's tracer provider and instrument httpx, once, if tracing is configured;
    True when the process traces. `name` is the traces' service name (default `<SERVICE_NAME>-service`)."""
    global _provider
    with _lock:
        if _provider is not None:
            return True
        if not tracing_wanted(settings):
            return False
        provider = TracerProvider(
            resource=Resource.create({"service.name": name or f"{settings.service_name}-service"}),
            sampler=ParentBased(root=_UntracedBackgroundCalls()),
        )
        if settings.otel_exporter_otlp_endpoint:
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(settings.otel_exporter_otlp_endpoint)))
        if settings.trace_file:
            provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(settings.trace_file)))
        trace.set_tracer_provider(provider)
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        _provider = provider
    log.info("tracing on", otlp=settings.otel_exporter_otlp_endpoint, trace_file=settings.trace_file)
    return True


def _otlp_exporter(endpoint: str) -> SpanExporter:
    import os

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The OTel convention: the generic endpoint gets the signal's path; a traces endpoint is used as it is.
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return OTLPSpanExporter()
    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def tracing() -> bool:
    return _provider is not None


def instrument_app(app: Any) -> None:
    """Server spans for the app's requests (probes and scrapes left out), if the process traces."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"]
    )


def instrument_engines(*engines: Any) -> None:
    """Statement spans for these async engines, if the process traces. Once per process (the
    instrumentor is a singleton): a served process has one runtime and these are its engines."""
    global _engines_instrumented
    if _provider is None or _engines_instrumented:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1 but its engine events work on 2.1
    # (test_trace_across_services sees the statements of a handler as children of its span)
    SQLAlchemyInstrumentor().instrument(
        engines=[e.sync_engine for e in engines], tracer_provider=_provider, skip_dep_check=True
    )
    _engines_instrumented = True


def flush_tracing(timeout_s: float = 5.0) -> None:
    """Export what is finished (at shutdown: the batch processor would otherwise drop its queue)."""
    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))


# -- trace context ------------------------------------------------------------------------------


def trace_headers() -> dict[str, str]:
    """The current trace context as W3C headers (traceparent, tracestate); {} outside any trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def stored_trace() -> dict[str, str] | None:
    """The current trace context for a queued row's column: None outside any trace."""
    return trace_headers() or None


def trace_context_headers(carrier: Carrier) -> dict[str, str]:
    """Only the W3C headers of a carrier: a dict (outbox headers, a stored column) or Kafka's
    (name, bytes) pairs."""
    if not carrier:
        return {}
    pairs = carrier.items() if isinstance(carrier, Mapping) else carrier
    found = {}
    for name, value in pairs:
        key = name.lower()
        if key in TRACE_HEADERS and value is not None:
            found[key] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return found


def context_of(carrier: Carrier) -> Context | None:
    """The trace context a carrier holds, or None when it holds none (or an unreadable one)."""
    headers = trace_context_headers(carrier)
    if "traceparent" not in headers:
        return None
    extracted = _propagator.extract(headers)
    span_context = trace.get_current_span(extracted).get_span_context()
    return extracted if span_context.is_valid else None


@contextmanager
def continued(
    name: str, carrier: Carrier, kind: SpanKind = SpanKind.INTERNAL, attributes: Attributes = None
) -> Iterator[None]:
    """Run the block in a span that is a child of the carrier's trace context (a new trace when it holds
    none). Not tracing: the carrier's context is only made current, so what the block emits or queues
    carries it on unchanged."""
    if _provider is None:
        with attached(carrier):
            yield
        return
    parent = context_of(carrier)
    tracer = _provider.get_tracer("casework")
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes):
        yield


@contextmanager
def attached(carrier: Carrier) -> Iterator[None]:
    """Make the carrier's trace context current for the block (no span of its own); nothing when it
    holds none."""
    parent = context_of(carrier)
    if parent is None:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)
