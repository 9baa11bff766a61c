"""Routing end to end: events of every context on the bus become rendered mails at the relay."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from html import escape
from importlib import resources
from typing import Any

import pytest
from notification_helpers import FAST, STAFF, database, publish_events, relay_mail, rows

from embedded_stack.event_checks import caught_up, events_consumed
from embedded_stack.testing import RunningService, TestStack, envelope_for, eventually, publish
from notification_service.db.models import Notification
from notification_service.domain.message import message_id_for

CLINICIAN = "dr.route@nhs.net"
FRONTEND = "https://casework.test.nhs.uk"
# What routing.toml promises, written out by hand: RRV lists its own CDF mailbox, everything else of
# a trust comes from the pattern (for a site, RGT03, its trust's), central mailboxes are fixed.
EXPECTED: dict[str, tuple[str | None, set[str]]] = {
    "cdf.application.approved": ("RRV", {CLINICIAN, "rrv.cancerdrugsfund@nhs.net"}),
    "cdf.application.rejected": ("RRV", {CLINICIAN, "rrv.cancerdrugsfund@nhs.net"}),
    "cdf.approval.lapsed": ("RGT", {CLINICIAN, "rgt.cdf@nhs.net"}),
    "cdf.unapproved_use.detected": ("RRV", {"rrv.pharmacy@nhs.net", "rrv.cancerdrugsfund@nhs.net"}),
    "ifr.request.acknowledged": ("RRV", {CLINICIAN}),
    "ifr.request.information_requested": ("RRV", {CLINICIAN}),
    "ifr.request.redirected": ("RRV", {CLINICIAN}),
    "ifr.request.screened_out": ("RRV", {CLINICIAN}),
    "ifr.request.service_development": ("RRV", {CLINICIAN}),
    "ifr.decision.made": ("RGT03", {CLINICIAN, "rgt.pharmacy@nhs.net"}),
    "ifr.decision.ratified": ("RGT03", {CLINICIAN, "rgt.pharmacy@nhs.net"}),
    "ifr.request.review_decided": ("RRV", {CLINICIAN}),
    "ifr.request.deadline_breached": ("RRV", {"england.ifr-casework@nhs.net"}),
    # not about one trust: the sample's region's (Y56) policy team
    "ifr.cohort.detected": (None, {"england.london-specialised-policy@nhs.net"}),
    "contract.validation_query.raised": ("RGT03", {"rgt.contracts@nhs.net", "rgt.pharmacy@nhs.net"}),
    "contract.validation_query.resolved": ("RRV", {"rrv.contracts@nhs.net", "rrv.pharmacy@nhs.net"}),
    "contract.budget.at_risk": ("RRV", {"england.specialised-finance@nhs.net"}),
    "cdf.unapproved_use.challenged": ("RRV", {"rrv.pharmacy@nhs.net", "rrv.cancerdrugsfund@nhs.net"}),
}
ID_FIELDS = ("alert_id", "application_id", "request_id", "query_id", "submission_id", "budget_line_id", "detection_id")


def payload(event_type: str, provider: str | None, run: str) -> dict[str, Any]:
    """The template's sample data as an event payload, with this run's ids and references."""
    samples = tomllib.loads(
        resources.files("notification_service").joinpath("templates/samples.toml").read_text(encoding="utf-8")
    )
    data = {k: v for k, v in samples[event_type.replace(".", "_")].items() if k not in ("link", "case_reference")}
    data |= {k: str(uuid.uuid4()) for k in ID_FIELDS if k in data}
    if "reference" in data:
        data["reference"] = f"{data['reference'].split('-')[0]}-{run}-{event_type.split('.')[-1][:12]}"
    if "clinician_email" in data:
        data["clinician_email"] = CLINICIAN
    return data | {"provider_ods": provider}


@pytest.fixture(scope="module")
async def svc(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database("routing"), frontend_base_url=FRONTEND, **FAST) as s:
        yield s


def text_and_html(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None, "a mail carries a plain text and an HTML part"
    return str(text.get_content()), str(html.get_content())


async def test_every_routed_event_family_reaches_its_recipients(stack: TestStack, svc: RunningService) -> None:
    run = uuid.uuid4().hex[:6].upper()
    events = [(t, str(uuid.uuid4()), payload(t, provider, run)) for t, (provider, _) in EXPECTED.items()]
    ids = await publish_events(stack, events)
    expected_count = sum(len(recipients) for _, recipients in EXPECTED.values())

    async def all_sent() -> list[Notification]:
        found = await rows(svc, Notification.source_event_id.in_(ids))
        return found if len(found) == expected_count and all(n.status == "sent" for n in found) else []

    sent = await eventually(all_sent, within=60)
    by_event = {event_id: [n for n in sent if n.source_event_id == event_id] for event_id in ids}
    mails = {m["Message-ID"]: m for m in relay_mail(stack, {n.message_id for n in sent})}
    for (event_type, _, data), event_id in zip(events, ids, strict=True):
        provider, recipients = EXPECTED[event_type]
        queued = by_event[event_id]
        assert {n.recipient for n in queued} == recipients, event_type
        assert {n.template for n in queued} == {event_type.replace(".", "_")}
        assert {n.provider_ods for n in queued} == {provider}
        for n in queued:
            assert n.source_event_type == event_type and n.attempts == 1 and n.sent_at is not None
            assert n.link is not None and n.link.startswith(FRONTEND + "/")
            mail = mails[n.message_id]
            assert mail["To"] == n.recipient and mail["Subject"] == n.subject
            # derived from the event id (template and recipient), never random: a redelivery or retry repeats it
            assert mail["Message-ID"] == message_id_for(event_id, n.template, n.recipient, "casework.nhs.uk")
            assert mail["Auto-Submitted"] == "auto-generated"
            text, html = text_and_html(mail)
            assert n.link in text and escape(n.link) in html  # bodies carry the link ...
            if n.case_reference:
                assert n.case_reference in text  # ... and the case reference
            assert data.get("patient_ref", "no patient_ref") not in mail.as_string()
    # a case reference staff can search by: the event's reference, or the route's own pattern
    approved = next(e for e in events if e[0] == "cdf.application.approved")
    listed = await svc.client.get(
        "/api/v1/notifications", params={"case_reference": approved[2]["reference"]}, headers=stack.auth(*STAFF)
    )
    assert len(listed.json()["items"]) == 2
    breach = by_event[ids[list(EXPECTED).index("cdf.unapproved_use.detected")]]
    assert {n.case_reference for n in breach} == {f"SACT-RRV-{events[3][2]['submission_id']}"}


async def test_a_role_the_payload_cannot_fill_does_not_stop_the_others(stack: TestStack, svc: RunningService) -> None:
    run = uuid.uuid4().hex[:6].upper()
    data = payload("ifr.decision.made", "RRV", run) | {"clinician_email": None}
    (event_id,) = await publish_events(stack, [("ifr.decision.made", data["request_id"], data)])

    async def sent() -> list[Notification]:
        found = await rows(svc, Notification.source_event_id == event_id)
        return found if found and all(n.status == "sent" for n in found) else []

    assert [n.recipient for n in await eventually(sent)] == ["rrv.pharmacy@nhs.net"]


async def test_a_redelivered_event_queues_nothing_twice(stack: TestStack, svc: RunningService) -> None:
    run = uuid.uuid4().hex[:6].upper()
    data = payload("ifr.request.acknowledged", "RRV", run)
    envelope = envelope_for("ifr.request.acknowledged", data["request_id"], data)
    # the marker: another event of the same case after the copy (same key, so the same partition and
    # consumer, read after it); once its mail is at the relay, the copy has been through the same path
    marker = envelope_for("ifr.request.acknowledged", data["request_id"], data | {"reference": f"{run}-marker"})
    # the queue's unique key would hide a second run of the handler: count the runs too (once this service has
    # read what other tests left on the topics, so that only these three events move the tally)
    consumer = svc.runtime.consumer
    assert consumer is not None
    await eventually(lambda: caught_up(stack.bootstrap_servers, consumer.name, consumer.topics), interval=0.5)
    handled = events_consumed(svc.settings.service_name, "ifr.request.acknowledged", "processed")
    await publish(stack.bootstrap_servers, [envelope, envelope, marker])  # the same event id twice

    async def marker_sent() -> list[Notification]:
        found = await rows(svc, Notification.source_event_id == marker.id, Notification.status == "sent")
        return found if found and relay_mail(stack, {n.message_id for n in found}) else []

    await eventually(marker_sent, within=60)
    assert events_consumed(svc.settings.service_name, "ifr.request.acknowledged", "processed") == handled + 2
    (notification,) = await rows(svc, Notification.source_event_id == envelope.id)  # one row for the copies

    # the sender sends a claimed batch side by side, so the copy's mail may reach the relay just after
    # the marker's: wait for it, then count it at the relay once
    async def copy_sent() -> list[Notification]:
        found = await rows(svc, Notification.source_event_id == envelope.id, Notification.status == "sent")
        return found if found and relay_mail(stack, {n.message_id for n in found}) else []

    await eventually(copy_sent, within=30)
    assert len(relay_mail(stack, {notification.message_id})) == 1


async def test_an_urgent_decision_is_followed_by_its_ratification_or_its_overturn(
    stack: TestStack, svc: RunningService
) -> None:
    """Two urgent cases decided by chair's action: a panel ratifies one and overturns the other. The
    clinician and the trust pharmacy hear each step, and every mail says which step it is."""
    run = uuid.uuid4().hex[:6].upper()
    kept, replaced = (payload("ifr.decision.made", "RRV", f"{run}{n}") for n in (1, 2))
    chairs = {"basis": "chairs_action", "urgent": True, "ratification_due": "2026-07-08", "decision_number": 1}
    kept |= chairs | {"decision_id": str(uuid.uuid4())}
    replaced |= chairs | {"decision_id": str(uuid.uuid4())}
    case = ("request_id", "reference", "provider_ods", "clinician_email", "urgent", "outcome")
    ratified = payload("ifr.decision.ratified", "RRV", run) | {k: kept[k] for k in case}
    ratified |= {"decision_id": kept["decision_id"], "state": "decided"}
    overturn = replaced | {
        "basis": "panel",
        "ratification_due": None,
        "decision_id": str(uuid.uuid4()),
        "decision_number": 2,
        "supersedes": replaced["decision_id"],
        "outcome": "declined",
        "conditions": [],
        "approved_cost": None,
    }
    events = [
        ("ifr.decision.made", kept["request_id"], kept),
        ("ifr.decision.made", replaced["request_id"], replaced),
        ("ifr.decision.ratified", kept["request_id"], ratified),
        ("ifr.decision.made", replaced["request_id"], overturn),
    ]
    ids = await publish_events(stack, events)

    async def all_sent() -> list[Notification]:
        found = await rows(svc, Notification.source_event_id.in_(ids))
        return found if len(found) == 8 and all(n.status == "sent" for n in found) else []

    sent = await eventually(all_sent, within=60)
    mails = {m["Message-ID"]: m for m in relay_mail(stack, {n.message_id for n in sent})}
    assert len(mails) == 8  # four events, two recipients each, one Message-ID each

    def clinician_mail(event_id: uuid.UUID) -> tuple[str, str, str]:
        (n,) = [n for n in sent if n.source_event_id == event_id and n.recipient == CLINICIAN]
        assert {x.recipient for x in sent if x.source_event_id == event_id} == {CLINICIAN, "rrv.pharmacy@nhs.net"}
        text, html = text_and_html(mails[n.message_id])
        return str(mails[n.message_id]["Subject"]), " ".join(text.split()), html

    for event_id in ids[:2]:
        subject, text, html = clinician_mail(event_id)
        assert subject.endswith(": decision made")
        assert "by chair's action" in text and "by 8 July 2026" in text and "by chair's action" in html
    subject, text, html = clinician_mail(ids[2])
    assert subject == f"IFR {kept['reference']}: urgent decision ratified"
    assert "has ratified the urgent decision" in text and "stands unchanged" in text
    assert kept["reference"] in text and f"{FRONTEND}/ifr/requests/{kept['request_id']}" in text
    assert "has ratified the urgent decision" in html
    subject, text, html = clinician_mail(ids[3])
    assert subject == f"IFR {replaced['reference']}: decision made"
    assert "replaces the earlier decision" in text and "overturned" in text and ": declined." in text
    assert "chair of the IFR panel has decided" not in text
    for n in sent:  # nothing clinical and no patient identifier, in any of the eight
        mail = mails[n.message_id].as_string()
        assert kept["patient_ref"] not in mail and kept["treatment_name"] not in mail
        assert kept["reasons"]["exceptionality"] not in mail
