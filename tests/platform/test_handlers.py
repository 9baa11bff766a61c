"""Each event handler declares the payload it handles (`ReceivedEvent[ApplicationApproved]`): the model its
event type is registered with, the one the consumer parses the event into. A handler registered for one
type but written for another would get a payload it does not expect; this check finds it before any
event does (the type checker then checks the handler's body against that model)."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from casework.events.catalogue.cdf import ApplicationApproved, TreatmentStopped
from casework.events.registry import registry
from casework.inbox import ReceivedEvent
from casework.services import SERVICE_NAMES, load_definition


def _declared_payload(handler: object) -> object:
    hints = typing.get_type_hints(handler)
    event = hints["event"]
    assert typing.get_origin(event) is ReceivedEvent, f"{handler}: event is {event}, not ReceivedEvent[...]"
    (payload,) = typing.get_args(event)
    return payload


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_handler_declares_the_payload_its_event_type_is_registered_with(service: str) -> None:
    definition = load_definition(service)
    wrong = {}
    for event_type, handler in definition.handlers.items():
        declared = _declared_payload(handler)
        # BaseModel: a handler that reads any event's data as it is (notification's router)
        if declared is not BaseModel and declared is not registry.get(event_type).payload:
            wrong[event_type] = (handler.__qualname__, declared, registry.get(event_type).payload)
    assert not wrong, wrong


def test_a_handler_declaring_another_payload_is_found() -> None:
    async def misfiled(uow: object, event: ReceivedEvent[TreatmentStopped]) -> None: ...

    assert _declared_payload(misfiled) is TreatmentStopped
    assert registry.get("cdf.application.approved").payload is ApplicationApproved
    assert _declared_payload(misfiled) is not registry.get("cdf.application.approved").payload
