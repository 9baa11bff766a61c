"""The registry of event types: name -> payload model, version, topic.

Producers validate a payload against it before writing the outbox; consumers parse with it; the
AsyncAPI document is generated from it. Payload models live in `casework.events.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from casework.events.envelope import EventEnvelope, topic_for


class UnknownEventType(KeyError):
    pass


@dataclass(frozen=True)
class EventType:
    name: str
    payload: type[BaseModel]
    version: int
    description: str

    @property
    def topic(self) -> str:
        return topic_for(self.name)

    @property
    def dataschema(self) -> str:
        return f"urn:casework:events:{self.name}:v{self.version}"


class EventRegistry:
    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}

    def register(
        self, name: str, *, version: int = 1, description: str = ""
    ) -> Callable[[type[BaseModel]], type[BaseModel]]:
        def decorate(model: type[BaseModel]) -> type[BaseModel]:
            if name in self._types:
                raise ValueError(f"event type {name} registered twice")
            doc = description or (model.__doc__ or "").strip()
            self._types[name] = EventType(name, model, version, doc)
            return model

        return decorate

    def get(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownEventType(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[EventType]:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def parse(self, envelope: EventEnvelope) -> BaseModel:
        return self.get(envelope.type).payload.model_validate(envelope.data)


registry = EventRegistry()
