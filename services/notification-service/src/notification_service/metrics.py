"""Prometheus metrics of mail sending and receiving (served on the service's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SEND_OUTCOMES = Counter(
    "notification_send_outcomes_total",
    "Replies and faults per attempt: delivered, retry (4xx), permanent (5xx), relay_unavailable",
    ["verdict"],
)
RELAY_AVAILABLE = Gauge("notification_relay_available", "1 while the sender can reach the relay, 0 while paused")
INBOUND_MAIL = Counter("notification_inbound_mail_total", "Received messages by gateway outcome", ["outcome"])
