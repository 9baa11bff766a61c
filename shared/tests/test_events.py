import typing
from decimal import Decimal

import pytest
from pydantic import BaseModel

from casework.events import EventEnvelope, registry, topic_for
from casework.events.asyncapi import asyncapi_document
from casework.patient_data import PatientIdentifierInEvent, assert_no_nhs_number, contains_nhs_number

ARCHITECTURE_EVENTS = {
    "ifr.request.submitted",
    "ifr.request.acknowledged",
    "ifr.request.information_requested",
    "ifr.request.redirected",
    "ifr.request.screened_out",
    "ifr.request.listed_for_panel",
    "ifr.request.withdrawn",
    "ifr.request.deadline_approaching",
    "ifr.request.deadline_breached",
    "ifr.decision.made",
    "ifr.request.reconsideration_requested",
    "ifr.request.review_requested",
    "ifr.request.review_decided",
    "cdf.application.approved",
    "cdf.application.rejected",
    "cdf.application.withdrawn",
    "cdf.treatment.started",
    "cdf.treatment.stopped",
    "cdf.approval.lapsed",
    "cdf.unapproved_use.detected",
    "cdf.forecast.updated",
    "cdf.sact_submission.processed",
    "contract.commitment.recorded",
    "contract.budget.at_risk",
    "contract.validation_query.raised",
    "contract.validation_query.resolved",
    "contract.variation.agreed",
    "notification.sent",
    "notification.failed",
    "mail.received",
}


def test_registry_holds_every_event_of_the_architecture() -> None:
    assert ARCHITECTURE_EVENTS <= {t.name for t in registry}


def test_topics_per_context() -> None:
    assert topic_for("cdf.treatment.started") == "cdf.events"
    assert topic_for("mail.received") == "mail.inbound"
    assert {t.topic for t in registry} == {
        "ifr.events",
        "cdf.events",
        "contract.events",
        "notification.events",
        "mail.inbound",
    }


def _field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = seen or set()
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in (*typing.get_args(field.annotation), field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                seen.add(arg)
                names |= _field_names(arg, seen)
    return names


@pytest.mark.parametrize("event_type", sorted(t.name for t in registry))
def test_no_payload_carries_patient_identifiers(event_type: str) -> None:
    names = _field_names(registry.get(event_type).payload)
    assert not names & {"nhs_number", "patient_name", "date_of_birth", "postcode", "name"}


def test_guard_finds_nhs_numbers_in_free_text() -> None:
    assert contains_nhs_number({"note": "patient 943 476 5919 seen"})
    assert contains_nhs_number({"list": [{"x": "9434765919"}]})
    assert not contains_nhs_number({"note": "9434765918"})  # fails the check digit
    assert not contains_nhs_number({"amount": "9434765919.00"})
    assert not contains_nhs_number({"reference": "CDF-9434765919"})  # part of a reference token
    assert contains_nhs_number({"note": "NHS no: 943-476-5919."})
    assert not contains_nhs_number({"a": "943", "b": ["476", "5919"]})  # never joined across values
    assert contains_nhs_number({"deep": [[{"x": ("9434765919",)}]]})
    with pytest.raises(PatientIdentifierInEvent):
        assert_no_nhs_number("cdf.application.approved", {"reason": "see 9434765919"})


def test_envelope_round_trip() -> None:
    spec = registry.get("contract.variation.agreed")
    envelope = EventEnvelope(
        type=spec.name, source="contract", subject="c-1", dataschema=spec.dataschema, data={"summary": "x"}
    )
    again = EventEnvelope.from_bytes(envelope.to_bytes())
    assert again == envelope and again.topic == "contract.events"
    assert spec.dataschema == "urn:casework:events:contract.variation.agreed:v1"


def test_asyncapi_document_references_resolve() -> None:
    document = asyncapi_document(
        registry,
        title="t",
        version="1",
        publishes=["cdf.application.approved"],
        subscribes=["ifr.decision.made"],
        bootstrap_servers="kafka:9092",
    )
    schemas = document["components"]["schemas"]
    for message in document["components"]["messages"].values():
        assert message["payload"]["$ref"].rsplit("/", 1)[1] in schemas
    assert set(document["operations"]) == {"send_cdf_application_approved", "receive_ifr_decision_made"}
    approved = schemas["ApplicationApproved"]
    assert "patient_ref" in approved["required"] and "expected_cost" in approved["properties"]
    assert Decimal  # payloads use Decimal for money; serialised as strings
