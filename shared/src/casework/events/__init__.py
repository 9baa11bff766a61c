"""Events: the envelope, the registry of types and the catalogue of payloads."""

from casework.events import catalogue as catalogue
from casework.events.envelope import EventEnvelope, dead_letter_topic, topic_for
from casework.events.registry import EventRegistry, EventType, UnknownEventType, registry

ALL_TOPICS = ("ifr.events", "cdf.events", "contract.events", "notification.events", "mail.inbound")

__all__ = [
    "ALL_TOPICS",
    "EventEnvelope",
    "EventRegistry",
    "EventType",
    "UnknownEventType",
    "dead_letter_topic",
    "registry",
    "topic_for",
]
