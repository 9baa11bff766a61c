"""Each case action emits its event (issue capability 10), in order, on the case's key, valid against the
registry, carrying the case's state after the move and never the NHS number or the patient's name.

Read from the service's outbox (the events it committed with each change), so no broker is needed.
"""

import json

from ifr_http import MEMBERS, REASONS, REVIEW_MEMBERS, URGENT, Ifr, application
from ifr_samples import COMPLETE
from sqlalchemy import select

from casework.events import EventEnvelope, registry
from embedded_stack.testing import RunningService, TestStack

EVERYONE = [m["member_id"] for m in MEMBERS]
REVIEWERS = [m["member_id"] for m in REVIEW_MEMBERS]
NHS_NUMBER = COMPLETE["patient"]["nhs_number"]
PATIENT_NAME = COMPLETE["patient"]["name"]


async def events_of(svc: RunningService, case: dict) -> list[EventEnvelope]:
    outbox = svc.runtime.tables.outbox
    async with svc.runtime.sessions() as session:
        rows = await session.execute(
            select(outbox.c.envelope, outbox.c.topic).where(outbox.c.message_key == case["id"]).order_by(outbox.c.id)
        )
        found = []
        for envelope, topic in rows:
            assert topic == "ifr.events"
            found.append(EventEnvelope.model_validate(envelope))
        return found


def check(events: list[EventEnvelope], case: dict, expected: list[tuple[str, str]]) -> None:
    """Event types and the state each carries, in order; every payload valid and free of identifiers."""
    assert [(e.type, e.data["state"]) for e in events] == expected
    for event in events:
        registry.parse(event)  # raises when the payload does not fit the registered model
        assert event.subject == case["id"] and event.data["request_id"] == case["id"]
        assert event.data["reference"] == case["reference"] and event.source.endswith("ifr")
        text = json.dumps(event.data)
        assert NHS_NUMBER not in text and PATIENT_NAME not in text


async def test_every_action_emits_its_event_without_patient_identifiers(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        panel, review_panel = await ifr.panel(), await ifr.panel("review")

        # intake and screening: information round trip, then screened out
        screened = await ifr.screening()
        returned = await ifr.act(screened, "request-information", {"information_needed": "the latest scan"})
        back = await ifr.act(returned, "provide-information", {"information": "attached"}, headers=ifr.clinician)
        out = await ifr.act(back, "screen-out", {"reasons": ["no_prospect_of_exceptionality"]})
        events = await events_of(svc, out)
        check(
            events,
            out,
            [
                ("ifr.request.submitted", "received"),
                ("ifr.request.acknowledged", "acknowledged"),
                ("ifr.request.information_requested", "returned_for_information"),
                ("ifr.request.resubmitted", "resubmitted"),
                ("ifr.request.screened_out", "screened_out"),
            ],
        )
        assert events[0].data["patient_ref"] and events[0].data["treatment_name"] == COMPLETE["treatment"]["name"]
        assert events[2].data["information_needed"] == "the latest scan"
        assert events[-1].data["reasons"] == ["there is no prospect of showing clinical exceptionality"]

        # redirected (not an IFR) and withdrawn
        redirected = await ifr.act(
            await ifr.act(await ifr.submitted(), "acknowledge"), "redirect", {"reason": "cohort"}
        )
        check(
            await events_of(svc, redirected),
            redirected,
            [
                ("ifr.request.submitted", "received"),
                ("ifr.request.acknowledged", "acknowledged"),
                ("ifr.request.redirected", "redirected"),
            ],
        )
        withdrawn = await ifr.act(await ifr.submitted(), "withdraw", {"reason": "moved away"}, headers=ifr.clinician)
        check(
            await events_of(svc, withdrawn),
            withdrawn,
            [("ifr.request.submitted", "received"), ("ifr.request.withdrawn", "withdrawn")],
        )

        # panel, reconsideration, review (upheld), closure: closing emits nothing
        case = await ifr.act(await ifr.screening(), "list-for-panel", {"panel_id": panel["id"]})
        body = {"reasons": REASONS, "present": EVERYONE}
        case = await ifr.act(case, "decide", {"outcome": "declined", **body})
        case = await ifr.act(case, "request-reconsideration", {"new_information": "new scan"}, headers=ifr.clinician)
        case = await ifr.act(case, "list-for-panel", {})
        case = await ifr.act(case, "decide", {"outcome": "approved", **body})
        case = await ifr.act(case, "request-review", {"grounds": "evidence missed"}, headers=ifr.clinician)
        case = await ifr.act(case, "list-for-panel", {"panel_id": review_panel["id"]})
        case = await ifr.act(case, "decide-review", {"outcome": "upheld", "reasons": "sound", "present": REVIEWERS})
        case = await ifr.act(case, "close", {})
        events = await events_of(svc, case)
        check(
            events,
            case,
            [
                ("ifr.request.submitted", "received"),
                ("ifr.request.acknowledged", "acknowledged"),
                ("ifr.request.listed_for_panel", "listed_for_panel"),
                ("ifr.decision.made", "decided"),
                ("ifr.request.reconsideration_requested", "reconsideration"),
                ("ifr.request.listed_for_panel", "listed_for_panel"),
                ("ifr.decision.made", "decided"),
                ("ifr.request.review_requested", "review"),
                ("ifr.request.listed_for_panel", "listed_for_review"),
                ("ifr.request.review_decided", "review_decided"),
            ],
        )
        first, second = events[3].data, events[6].data
        assert (first["outcome"], first["decision_number"], first["approved_cost"]) == ("declined", 1, None)
        assert (second["outcome"], second["decision_number"]) == ("approved", 2)
        assert second["supersedes"] == first["decision_id"] and second["patient_ref"] == first["patient_ref"]
        assert second["reasons"] == REASONS and second["approved_cost"] == "15000.00"
        assert events[-1].data["outcome"] == "upheld"

        # urgent: chair's action, then the panel ratifies it
        urgent = await ifr.act(await ifr.screening(application(**URGENT)), "list-for-panel", {"panel_id": panel["id"]})
        chair = {"outcome": "approved", "reasons": REASONS, "urgent_reason": "cannot wait", "chair": "chair-a"}
        urgent = await ifr.act(urgent, "chairs-action", chair)
        urgent = await ifr.act(urgent, "list-for-panel", {"panel_id": panel["id"]})
        urgent = await ifr.act(urgent, "ratify", {"present": EVERYONE})
        events = await events_of(svc, urgent)
        check(
            events,
            urgent,
            [
                ("ifr.request.submitted", "received"),
                ("ifr.request.acknowledged", "acknowledged"),
                ("ifr.request.listed_for_panel", "listed_for_panel"),
                ("ifr.decision.made", "awaiting_ratification"),
                ("ifr.request.listed_for_panel", "listed_for_ratification"),
                ("ifr.decision.ratified", "decided"),
            ],
        )
        assert all(e.data["urgent"] is True for e in events)
        made, ratified = events[3].data, events[5].data
        assert made["basis"] == "chairs_action" and made["ratification_due"]
        assert ratified["decision_id"] == made["decision_id"] and ratified["outcome"] == "approved"
