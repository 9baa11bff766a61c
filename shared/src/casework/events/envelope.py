"""The CloudEvents-style envelope every event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def topic_for(event_type: str) -> str:
    """One topic per bounded context: `cdf.treatment.started` -> `cdf.events`; mail -> `mail.inbound`."""
    context = event_type.split(".", 1)[0]
    return "mail.inbound" if context == "mail" else f"{context}.events"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class EventEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    source: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="The aggregate id; also the Kafka message key")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    version: int = 1
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return topic_for(self.type)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> EventEnvelope:
        return cls.model_validate_json(raw)
