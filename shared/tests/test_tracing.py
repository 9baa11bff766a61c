"""The pure parts of tracing: the W3C trace context into an outbox row's headers, out of the Kafka
record's headers, and the span the consumer runs a handler in (a child of the event's context)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased
from opentelemetry.trace import SpanKind

from casework import tracing
from casework.events.envelope import EventEnvelope
from casework.outbox import kafka_headers, outbox_row
from casework.tracing import (
    JsonLinesSpanExporter,
    _UntracedBackgroundCalls,
    context_of,
    continued,
    stored_trace,
    trace_headers,
)


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """The module traces (as configure_tracing would make it) into memory, for this test only."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=_UntracedBackgroundCalls()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # in memory: no I/O to keep off the loop
    saved, tracing._provider = tracing._provider, provider
    try:
        yield exporter
    finally:
        tracing._provider = saved
        provider.shutdown()


def _request_span() -> trace.Span:
    """A server span of some request, from a provider of its own (not the module's)."""
    return TracerProvider().get_tracer("test").start_span("POST /api/v1/sact/submissions", kind=SpanKind.SERVER)


def _envelope() -> EventEnvelope:
    return EventEnvelope(type="cdf.treatment.started", source="cdf", subject="s-1", data={}, dataschema="urn:test")


def test_outside_any_trace_nothing_is_stored() -> None:
    assert trace_headers() == {}
    assert stored_trace() is None
    assert outbox_row(_envelope(), headers=trace_headers())["headers"] == {}


def test_the_context_goes_through_the_outbox_row_and_the_kafka_headers() -> None:
    span = _request_span()
    with trace.use_span(span, end_on_exit=True):
        row = outbox_row(_envelope(), headers=trace_headers())
    sent = span.get_span_context()
    assert row["headers"]["traceparent"].startswith(f"00-{sent.trace_id:032x}-{sent.span_id:016x}-")

    received = context_of(kafka_headers(row["headers"]))  # as the relay sends and the consumer reads them
    assert received is not None
    parent = trace.get_current_span(received).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.is_remote) == (sent.trace_id, sent.span_id, True)


def test_other_headers_and_unreadable_contexts_are_no_context() -> None:
    assert context_of(None) is None
    assert context_of([("error", b"boom"), ("consumer", b"contract-service")]) is None
    assert context_of({"traceparent": "00-not-a-trace-01"}) is None
    assert context_of({"traceparent": f"00-{0:032x}-{0:016x}-01"}) is None  # all-zero ids are invalid


def test_the_handler_span_is_a_child_of_the_event_and_what_it_emits_continues_from_it(
    exported: InMemorySpanExporter,
) -> None:
    span = _request_span()
    with trace.use_span(span, end_on_exit=True):
        headers = kafka_headers(trace_headers())
    with continued("contract.budget.at_risk process", headers, SpanKind.CONSUMER, {"messaging.system": "kafka"}):
        emitted = trace_headers()  # what an event the handler emits would carry

    [handled] = exported.get_finished_spans()
    sent = span.get_span_context()
    assert handled.name == "contract.budget.at_risk process" and handled.kind is SpanKind.CONSUMER
    assert handled.context.trace_id == sent.trace_id
    assert handled.parent is not None and handled.parent.span_id == sent.span_id
    assert emitted["traceparent"].startswith(f"00-{sent.trace_id:032x}-{handled.context.span_id:016x}-")


def test_without_a_context_the_work_starts_its_own_trace(exported: InMemorySpanExporter) -> None:
    with continued("sact submission process", None):
        pass
    [job] = exported.get_finished_spans()
    assert job.parent is None and job.context.trace_id != 0


def test_a_failing_handler_leaves_an_error_span(exported: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError), continued("cdf.forecast.updated process", None, SpanKind.CONSUMER):
        raise RuntimeError("no budget line")
    [failed] = exported.get_finished_spans()
    assert failed.status.status_code is trace.StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]


def test_not_tracing_passes_the_context_on_unchanged() -> None:
    assert not tracing.tracing()
    span = _request_span()
    with trace.use_span(span, end_on_exit=True):
        headers = trace_headers()
    with continued("cdf.forecast.updated process", kafka_headers(headers)):
        assert trace_headers() == headers  # no span of its own: the event's context as it came
    assert trace_headers() == {}


def test_background_statements_start_no_trace_but_a_request_statement_is_traced() -> None:
    sampler = ParentBased(root=_UntracedBackgroundCalls())
    trace_id = uuid.uuid4().int >> 64
    root_statement = sampler.should_sample(None, trace_id, "SELECT cdf", SpanKind.CLIENT)
    assert root_statement.decision is Decision.DROP
    assert sampler.should_sample(None, trace_id, "POST", SpanKind.SERVER).decision is Decision.RECORD_AND_SAMPLE
    assert sampler.should_sample(None, trace_id, "job", SpanKind.INTERNAL).decision is Decision.RECORD_AND_SAMPLE

    span = _request_span()
    in_request = trace.set_span_in_context(span)
    assert sampler.should_sample(in_request, trace_id, "SELECT cdf", SpanKind.CLIENT).decision is (
        Decision.RECORD_AND_SAMPLE
    )


def test_the_file_exporter_writes_one_json_line_per_span(tmp_path, exported: InMemorySpanExporter) -> None:
    with continued("mail send", None):
        with continued("inner", trace_headers()):
            pass
    path = tmp_path / "spans" / "notification.jsonl"
    exporter = JsonLinesSpanExporter(path)
    exporter.export(exported.get_finished_spans())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["name"] for line in lines] == ["inner", "mail send"]
    assert lines[0]["context"]["trace_id"] == lines[1]["context"]["trace_id"]
    assert lines[0]["parent_id"] == lines[1]["context"]["span_id"]
