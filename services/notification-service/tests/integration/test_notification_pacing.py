"""The rate limit per relay, against the real sender and relay: a token bucket of SEND_RATE_PER_S with
SEND_RATE_BURST at once. Ten notifications queued together at 5/s with a burst of 1 cannot all reach
the relay in less than 9 intervals of 0.2 s, however fast the machine is (a lower bound only: a busy
machine can only make it slower)."""

from __future__ import annotations

import uuid

from notification_helpers import FAST, database, relay_counts, rows

from embedded_stack.testing import TestStack, eventually
from notification_service.config import mail_identity, notification_settings, secure_domains
from notification_service.db.models import Notification
from notification_service.db.queue import Cause, enqueue
from notification_service.domain.templates import RenderedMail

RATE, BURST, COUNT = 5.0, 1.0, 10


async def test_the_sender_paces_messages_to_the_relay_rate(stack: TestStack) -> None:
    paced = {**FAST, "send_rate_per_s": RATE, "send_rate_burst": BURST}
    async with stack.service("notification", database=database("pacing"), **paced) as svc:
        settings = notification_settings(svc.runtime.settings)
        run = uuid.uuid4().hex[:8]
        reference = f"PACE-{run}"
        async with svc.runtime.sessions() as session, session.begin():  # all ten due at the same moment
            for n in range(COUNT):
                rendered = RenderedMail("pacing_check", 1, f"Pacing check {n}", "A test message.\n", "<p>A test</p>")
                cause = Cause(event_id=uuid.uuid4(), event_type="test.pacing", case_reference=reference)
                recipient = f"pace.{run}.{n}@nhs.net"
                await enqueue(session, rendered, recipient, cause, mail_identity(settings), secure_domains(settings))

        async def all_sent() -> list[Notification]:
            found = await rows(svc, Notification.case_reference == reference, Notification.status == "sent")
            return found if len(found) == COUNT else []

        sent = await eventually(all_sent, within=60)
    assert relay_counts(stack, {n.message_id for n in sent}) == {n.message_id: 1 for n in sent}
    times = sorted(n.sent_at for n in sent if n.sent_at is not None)
    spread = (times[-1] - times[0]).total_seconds()
    assert spread >= (COUNT - BURST) / RATE * 0.9, f"{COUNT} messages reached the relay within {spread:.2f} s"
    assert {n.attempts for n in sent} == {1}
