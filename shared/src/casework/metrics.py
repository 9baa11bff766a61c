"""Prometheus metrics, defined once per process and labelled by service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("casework_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "casework_http_request_duration_seconds", "HTTP request duration", ["service", "method", "route"]
)
OUTBOX_PUBLISHED = Counter("casework_outbox_published_total", "Outbox events published", ["service"])
OUTBOX_BACKLOG = Gauge("casework_outbox_backlog", "Outbox events not yet published", ["service"])
EVENTS_CONSUMED = Counter(
    "casework_events_consumed_total", "Events handled by consumers", ["service", "event_type", "outcome"]
)
DEAD_LETTERS = Counter("casework_dead_letters_total", "Events sent to a dead-letter topic", ["service"])
BROKER_UP = Gauge(
    "casework_broker_up", "1 when the last readiness probe reached the broker, 0 when it did not", ["service"]
)
RETENTION_DELETED = Counter(
    "casework_retention_deleted_total", "Rows deleted by retention, by table", ["service", "table"]
)
OUTBOX_REPUBLISHED = Counter(
    "casework_outbox_republished_total", "Outbox events published again after the broker lost them", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "casework_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest outbox event not yet published (0: none waiting); set by the relay and at each scrape",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "casework_consumer_lag",
    "Records of a partition the consumer group has not handled yet (its highwater minus the next offset to handle)",
    ["service", "group", "topic", "partition"],
)
WORKER_ROUNDS = Counter(
    "casework_worker_rounds_total",
    "Rounds a background worker (casework.worker) ran, by outcome (ok, failed)",
    ["service", "worker", "outcome"],
)
WORKER_LAST_SUCCESS = Gauge(
    "casework_worker_last_success_timestamp_seconds",
    "When a background worker's round last succeeded (Unix time)",
    ["service", "worker"],
)
