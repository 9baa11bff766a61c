"""An AsyncAPI 3.0 document generated from the event registry.

Each service serves the document for the topics it publishes and subscribes to, so a provider
integrating against the bus reads the same schemas the code validates with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic.json_schema import models_json_schema

from casework.events.envelope import EventEnvelope
from casework.events.registry import EventRegistry, EventType


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _message_id(event_type: EventType) -> str:
    return event_type.name.replace(".", "_")


def asyncapi_document(
    registry: EventRegistry,
    *,
    title: str,
    version: str,
    publishes: Iterable[str],
    subscribes: Iterable[str],
    bootstrap_servers: str,
) -> dict[str, Any]:
    types = list(registry)
    _, schemas = models_json_schema(
        [(t.payload, "validation") for t in types] + [(EventEnvelope, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    components_schemas = schemas.get("$defs", {})
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for t in types:
        channel = channels.setdefault(
            _channel_id(t.topic), {"address": t.topic, "messages": {}, "description": f"Topic {t.topic}"}
        )
        channel["messages"][_message_id(t)] = {"$ref": f"#/components/messages/{_message_id(t)}"}
        messages[_message_id(t)] = {
            "name": t.name,
            "title": t.name,
            "summary": t.description,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/EventEnvelope"},
            "payload": {"$ref": f"#/components/schemas/{t.payload.__name__}"},
            "x-dataschema": t.dataschema,
            "x-version": t.version,
        }
    operations: dict[str, Any] = {}
    for action, wanted in (("send", set(publishes)), ("receive", set(subscribes))):
        for t in types:
            if t.name in wanted:
                operations[f"{action}_{_message_id(t)}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{_channel_id(t.topic)}"},
                    "messages": [{"$ref": f"#/channels/{_channel_id(t.topic)}/messages/{_message_id(t)}"}],
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Events are CloudEvents-style envelopes (EventEnvelope); `data` holds the payload.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": bootstrap_servers, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components_schemas, "messages": messages},
    }
