"""The backlog gauges on /metrics: the age of the oldest unpublished outbox event, the age of the oldest
mail not sent, and the consumer lag per group and partition, with values that move as the work does.
(test_trace_across_services shows them settling at 0 after a whole flow.)"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from embedded_stack.ports import free_port
from embedded_stack.testing import TestStack, envelope_for, eventually, publish
from notification_service.db.models import Notification

FAST_SENDER = {"send_poll_interval_s": 0.05, "relay_backoff_base_s": 0.2, "relay_backoff_cap_s": 0.5}


def values(text: str, name: str, **labels: str) -> list[float]:
    found = []
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            found.append(float(match.group(2)))
    return found


def outcome(notification_id: uuid.UUID) -> dict:
    return {
        "notification_id": notification_id,
        "source_event_id": uuid.uuid4(),
        "source_event_type": "ifr.request.acknowledged",
        "template": "ifr_request_acknowledged",
        "recipient": "dr.metrics@nhs.net",
        "message_id": f"<{notification_id}@casework.test>",
        "case_reference": None,
        "attempts": 1,
        "sent_at": datetime.now(UTC),
    }


async def test_the_outbox_age_grows_until_the_relay_publishes(stack: TestStack) -> None:
    database = f"notification_metrics_{uuid.uuid4().hex[:6]}"
    async with stack.service("notification", database=database, run_workers=False) as svc:
        scrape = svc.client.get
        age = "casework_outbox_oldest_unpublished_age_seconds"
        assert values((await scrape("/metrics")).text, age, service="notification") == [0.0]
        async with svc.runtime.unit_of_work() as uow:
            notification_id = uuid.uuid4()
            uow.emit("notification.sent", str(notification_id), outcome(notification_id))
            await uow.commit()

        await asyncio.sleep(0.3)  # an age to measure, not a wait for an effect
        first = values((await scrape("/metrics")).text, age, service="notification")
        await asyncio.sleep(0.3)
        text = (await scrape("/metrics")).text
        later = values(text, age, service="notification")
        assert len(first) == 1 and first[0] >= 0.3 and later[0] >= first[0] + 0.3
        assert values(text, "casework_outbox_backlog", service="notification") == [1.0]

        assert await svc.runtime.relay.publish_batch() == 1  # no workers here: the relay's one batch, by hand
        text = (await scrape("/metrics")).text
        assert values(text, age, service="notification") == [0.0]
        assert values(text, "casework_outbox_backlog", service="notification") == [0.0]


async def test_a_mail_the_relay_cannot_take_ages_while_the_consumer_lag_falls_to_zero(stack: TestStack) -> None:
    database = f"notification_metrics_{uuid.uuid4().hex[:6]}"
    reference = f"IFR-METRICS-{uuid.uuid4().hex[:6].upper()}"
    nowhere = free_port()  # no relay listens: the sender pauses and the mail stays queued
    async with stack.service("notification", database=database, smtp_port=nowhere, **FAST_SENDER) as svc:
        request_id = str(uuid.uuid4())
        data = {
            "request_id": request_id,
            "reference": reference,
            "provider_ods": "RRV",
            "state": "acknowledged",
            "urgent": False,
            "clinician_email": "dr.metrics@nhs.net",
        }
        await publish(stack.bootstrap_servers, [envelope_for("ifr.request.acknowledged", request_id, data)])

        async def queued() -> Notification | None:
            async with svc.runtime.sessions() as session:
                found = await session.scalar(select(Notification).where(Notification.case_reference == reference))
            return found if found is not None and found.last_error else None  # queued and tried: relay away

        mail = await eventually(queued)
        assert mail.status in ("queued", "sending")

        async def settled() -> str | None:
            text = (await svc.client.get("/metrics")).text
            lags = values(text, "casework_consumer_lag", group="notification-service", topic="ifr.events")
            ages = values(text, "notification_oldest_queued_mail_age_seconds")
            return text if lags and set(lags) == {0.0} and ages and ages[0] > 0.2 else None

        text = await eventually(settled)
        # one gauge per partition of every topic the group reads, each labelled with its service
        partitions = values(text, "casework_consumer_lag", service="notification", group="notification-service")
        assert len(partitions) >= len(svc.runtime.consumer.topics)
