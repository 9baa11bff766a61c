"""Sending through the relay: permanent and temporary refusals, resend (outages: test_notification_outage)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator

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
    rows,
)

from embedded_stack.testing import RunningService, TestStack, eventually, read_topic
from notification_service.db.models import Notification


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
    # long enough for dozens of retries at FAST settings: still exactly one try at the relay
    await asyncio.sleep(1.5)
    assert refused(stack, failed.message_id) == 1
    (again,) = await rows(sender, Notification.id == failed.id)
    assert (again.status, again.attempts) == ("failed", 1)
    events = [json.loads(r.value) for r in await read_topic(stack.bootstrap_servers, "notification.events", 0.3)]
    outcome = [e for e in events if e["subject"] == str(failed.id)]
    assert [(e["type"], e["data"]["error"], e["data"]["attempts"]) for e in outcome] == [
        ("notification.failed", "554 5.7.1 Message rejected by policy", 1)
    ]


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
