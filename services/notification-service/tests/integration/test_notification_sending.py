"""Sending through the relay: permanent and temporary refusals, resend (outages: test_notification_outage)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from notification_helpers import (
    FAST,
    STAFF,
    budget_event,
    database,
    one_notification,
    publish_events,
    refused,
    relay_counts,
    relay_mail,
    rows,
)
from sqlalchemy import func, select, update

from embedded_stack.event_checks import read_topic
from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.claims import Claimed
from notification_service.db.models import Notification
from notification_service.domain.delivery import Classification
from notification_service.domain.message import message_id_for
from notification_service.sending.sender import Sender


@pytest.fixture(scope="module")
async def service(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database("sending"), **FAST) as svc:
        yield svc


@pytest.fixture
def sender(stack: TestStack, service: RunningService) -> Iterator[RunningService]:
    try:
        yield service
    finally:
        stack.relay.accept()


async def test_a_5xx_reply_fails_at_once_with_the_reason_and_is_not_retried(
    stack: TestStack, sender: RunningService
) -> None:
    stack.relay.refuse(554, "5.7.1 Message rejected by policy")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    failed = await one_notification(sender, event_id, "failed")
    assert failed.last_error == "554 5.7.1 Message rejected by policy"
    assert failed.attempts == 1
    await marker_attempted_after(stack, sender, failed)
    assert refused(stack, failed.message_id) == 1  # still exactly one try at the relay
    (again,) = await rows(sender, Notification.id == failed.id)
    assert (again.status, again.attempts) == ("failed", 1)
    events = [json.loads(r.value) for r in await read_topic(stack.bootstrap_servers, "notification.events", 0.3)]
    outcome = [e for e in events if e["subject"] == str(failed.id)]
    assert [(e["type"], e["data"]["error"], e["data"]["attempts"]) for e in outcome] == [
        ("notification.failed", "554 5.7.1 Message rejected by policy", 1)
    ]
    assert 'notification_send_outcomes_total{verdict="permanent"}' in (await sender.client.get("/metrics")).text


async def marker_attempted_after(stack: TestStack, sender: RunningService, failed: Notification) -> None:
    """Queue a marker notification due later than any retry of `failed` could be (its last attempt plus the
    longest backoff) and wait until the sender has tried it. The sender claims in order of due time and
    tries a batch one by one, so a retry of `failed`, had there been one, was tried first."""
    latest_retry = failed.updated_at + timedelta(seconds=sender.settings.send_retry_cap_s)

    async def database_past_it() -> bool:
        async with sender.runtime.sessions() as session:
            return await session.scalar(select(func.now())) > latest_retry  # the clock next_attempt_at uses

    await eventually(database_past_it)
    (marker_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    marker = await one_notification(sender, marker_id, "sent", "failed")  # the relay still refuses: failed
    assert marker.created_at > latest_retry  # queued after any retry was due, so claimed after it


async def test_a_4xx_reply_is_retried_with_backoff_then_sent(stack: TestStack, sender: RunningService) -> None:
    stack.relay.refuse(451, "4.3.0 Try again later")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    queued = await one_notification(sender, event_id, "queued", "sending")
    await eventually(lambda: refused(stack, queued.message_id) >= 3)
    stack.relay.accept()
    sent = await one_notification(sender, event_id, "sent")
    tries = refused(stack, sent.message_id)
    assert sent.attempts == tries + 1  # every 451 was one attempt, then the delivery
    assert sent.last_error is None and sent.sent_at is not None
    assert relay_counts(stack, {sent.message_id}) == {sent.message_id: 1}
    # every try carried the Message-ID derived from the event id, and the relay saw our login after STARTTLS
    expected_id = message_id_for(event_id, sent.template, sent.recipient, sender.settings.message_id_domain)
    assert sent.message_id == expected_id
    assert {mid for mid, _ in stack.relay.handler.refused if mid == expected_id} == {expected_id}
    (mail,) = relay_mail(stack, {expected_id})
    assert mail["X-Relay-Auth-User"] == sender.settings.smtp_username
    # and notification.sent says so, once, with the attempts it took
    events = [json.loads(r.value) for r in await read_topic(stack.bootstrap_servers, "notification.events", 0.3)]
    outcome = [e for e in events if e["subject"] == str(sent.id)]
    assert [(e["type"], e["data"]["attempts"], e["data"]["message_id"]) for e in outcome] == [
        ("notification.sent", sent.attempts, expected_id)
    ]
    assert outcome[0]["data"]["source_event_id"] == str(event_id) and outcome[0]["data"]["sent_at"]


async def test_resend_puts_a_failed_notification_back_with_the_same_message_id(
    stack: TestStack, sender: RunningService
) -> None:
    stack.relay.refuse(550, "5.1.1 Mailbox unavailable")
    (event_id,) = await publish_events(stack, [budget_event(uuid.uuid4().hex[:8])])
    failed = await one_notification(sender, event_id, "failed")
    stack.relay.accept()
    path = f"/api/v1/notifications/{failed.id}"
    staff = stack.auth(*STAFF)
    shown = await sender.client.get(path, headers=staff)
    etag = shown.headers["ETag"]
    assert shown.json()["status"] == "failed"

    no_precondition = await sender.client.post(f"{path}/resend", headers=staff)
    assert no_precondition.status_code == 428
    stale = await sender.client.post(f"{path}/resend", headers={**staff, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    provider = await sender.client.post(
        f"{path}/resend", headers={**stack.auth("RRV", "trust_cdf_lead"), "If-Match": etag}
    )
    assert provider.status_code == 403
    resent = await sender.client.post(
        f"{path}/resend", headers={**staff, "If-Match": etag}, json={"reason": "mailbox fixed"}
    )
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["attempts"]) == ("queued", 0)

    sent = await one_notification(sender, event_id, "sent")
    assert relay_counts(stack, {failed.message_id}) == {failed.message_id: 1}
    again = await sender.client.post(f"{path}/resend", headers={**staff, "If-Match": f'W/"{sent.version}"'})
    assert again.status_code == 409
    assert again.json()["current_state"] == "sent" and again.json()["allowed_actions"] == []


async def test_a_mail_operator_finds_a_mail_one_relay_recipient_refused_and_resends_it(
    stack: TestStack, sender: RunningService
) -> None:
    request_id = str(uuid.uuid4())
    recipient = f"dr.{request_id[:8]}@nhs.net"
    reference = f"IFR-R-{request_id[:8]}"
    stack.relay.refuse_recipient(recipient, 550, "5.1.1 Mailbox unavailable")
    data = {
        "request_id": request_id,
        "reference": reference,
        "provider_ods": "RRV",
        "state": "acknowledged",
        "urgent": False,
        "clinician_email": recipient,
    }
    (event_id,) = await publish_events(stack, [("ifr.request.acknowledged", request_id, data)])
    failed = await one_notification(sender, event_id, "failed")
    stack.relay.accept(recipient)
    operator = stack.auth("X24", "mail_operator")
    found = await sender.client.get(
        "/api/v1/notifications", params={"case_reference": reference, "status": "failed"}, headers=operator
    )
    assert found.status_code == 200, found.text
    (item,) = found.json()["items"]
    assert (item["id"], item["last_error"], item["attempts"]) == (str(failed.id), "550 5.1.1 Mailbox unavailable", 1)
    path = f"/api/v1/notifications/{failed.id}/resend"
    resent = await sender.client.post(path, headers={**operator, "If-Match": f'W/"{item["version"]}"'})
    assert resent.status_code == 200, resent.text
    twice = await sender.client.post(path, headers={**operator, "If-Match": f'W/"{item["version"]}"'})
    assert twice.status_code == 412  # the same click again changes nothing
    await one_notification(sender, event_id, "sent")
    assert relay_counts(stack, {failed.message_id}) == {failed.message_id: 1}


async def stop_for_certain(task: asyncio.Task[None], within_s: float = 10) -> None:
    """Cancel until it stops: on Python 3.11 a cancel arriving as an inner `wait_for` completes (aiosmtplib's
    timeouts) is lost (gh-86296) and the sender's loop goes on; a plain cancel-and-gather then waits for
    ever. (The service's own shutdown is bounded by `cancel_within` and does not re-cancel: a re-cancel
    could cut short the write of what was just sent.)"""
    deadline = asyncio.get_running_loop().time() + within_s
    while not task.done() and asyncio.get_running_loop().time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    assert task.done(), "the second sender did not stop"


async def test_two_senders_on_one_queue_send_each_notification_once(stack: TestStack, sender: RunningService) -> None:
    """SELECT ... FOR UPDATE SKIP LOCKED claims: a second replica's sender never takes the same row."""
    run = uuid.uuid4().hex[:8]
    second = Sender(sender.runtime)
    sent_by_second: list[uuid.UUID] = []
    attempt = second.attempt

    async def counted(claimed: Claimed) -> Classification:
        sent_by_second.append(claimed.id)
        return await attempt(claimed)

    second.attempt = counted  # type: ignore[method-assign]
    task = asyncio.create_task(second.run())
    try:
        await publish_events(stack, [budget_event(run, i) for i in range(200)])
        ours = Notification.case_reference.startswith(f"BUDGET-RRV-{run}-")

        async def all_sent() -> list[Notification]:
            found = await rows(sender, ours, Notification.status == "sent")
            return found if len(found) == 200 else []

        delivered = await eventually(all_sent, within=60)
    finally:
        await stop_for_certain(task)
    counts = relay_counts(stack, {n.message_id for n in delivered})
    assert len(counts) == 200 and set(counts.values()) == {1}
    assert {n.attempts for n in delivered} == {1}
    assert 0 < len(set(sent_by_second) & {n.id for n in delivered}) < 200  # both senders took a share


async def test_a_crashed_senders_claim_is_taken_over_after_its_lease(stack: TestStack, sender: RunningService) -> None:
    run = uuid.uuid4().hex[:8]
    (event_id,) = await publish_events(stack, [budget_event(run)])
    queued = await one_notification(sender, event_id, "sent")
    # as if a sender claimed it and died before sending: `sending`, someone else's token, lease over
    async with sender.runtime.sessions() as session, session.begin():
        await session.execute(
            update(Notification)
            .where(Notification.id == queued.id)
            .values(
                status="sending", sent_at=None, claim_token=uuid.uuid4(), lease_until=func.now() - timedelta(seconds=1)
            )
        )
    resent = await one_notification(sender, event_id, "sent")
    assert resent.sent_at is not None and resent.claim_token is None
    # the message went out again, with the same Message-ID: recipients can tell it is the same mail
    assert relay_counts(stack, {queued.message_id}) == {queued.message_id: 2}
