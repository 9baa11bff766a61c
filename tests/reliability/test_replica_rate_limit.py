"""The relay's sending limit is the nhs.net account's, however many notification-service replicas send
as it: two replicas draw from one token bucket in PostgreSQL (notification_service.sending.rate_limit).

Forty mails are queued at once for two replicas at SEND_RATE_PER_S 10 with SEND_RATE_BURST 2 and small
claim batches, so both send. Measured at the relay (the time it accepted each message): in every window
of the run, the account's deliveries keep within burst + rate x window (one message of slack for the
timing of the relay's own clock). Each process keeping its own bucket, as before, let the two send 20 a
second together: about 22 in a second, where one account may send 12.

The window measured ends with the last of the forty: the replicas also send whatever else their consumers
queued meanwhile (events earlier tests left on the bus), which counts against the account too, until the
test stops them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from replicas import metric

from embedded_stack.layout import RELAY_USER
from embedded_stack.testing import TestStack, eventually
from notification_service.config import mail_identity, notification_settings, secure_domains
from notification_service.db.models import Notification
from notification_service.db.queue import Cause, enqueue
from notification_service.domain.templates import RenderedMail

RATE, BURST, MAILS = 10.0, 2.0, 40
DATABASE = "notification_replica_rate"


def _deliveries(folder: Path, since: dt.datetime, header: str) -> list[tuple[dt.datetime, str]]:
    """(time the relay accepted it, a header's value) of every delivery since `since`, from the relay's files."""
    found = []
    for path in folder.glob("*.eml"):
        stamp = dt.datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC)
        if stamp >= since:
            head = path.read_bytes().split(b"\r\n\r\n", 1)[0].decode(errors="replace").splitlines()
            value = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith(f"{header.lower()}:")), "")
            found.append((stamp, value))
    return sorted(found)


def accepted_at(folder: Path, since: dt.datetime, until: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """(time, relay account) of every delivery from `since` to `until`."""
    return [(at, user) for at, user in _deliveries(folder, since, "X-Relay-Auth-User") if at <= until]


def arrivals(folder: Path, since: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """(time, Message-ID) of every delivery since `since`."""
    return _deliveries(folder, since, "Message-ID")


def most_in_a_window(times: list[dt.datetime]) -> list[tuple[int, float]]:
    """For each pair of deliveries i < j: how many went in [t_i, t_j] and how long that was."""
    return [
        (j - i + 1, (times[j] - times[i]).total_seconds()) for i in range(len(times)) for j in range(i + 1, len(times))
    ]


async def test_two_replicas_send_within_one_accounts_limit(stack: TestStack) -> None:
    run = uuid.uuid4().hex[:8]
    reference = f"RATE-{run}"
    started = dt.datetime.now(dt.UTC)
    async with stack.service("notification", database=DATABASE, run_workers=False) as queue:
        settings = notification_settings(queue.runtime.settings)
        async with queue.runtime.sessions() as session, session.begin():  # all due at the same moment
            for n in range(MAILS):
                rendered = RenderedMail("rate_check", 1, f"Rate check {n}", "A test message.\n", "<p>A test</p>")
                cause = Cause(event_id=uuid.uuid4(), event_type="test.rate", case_reference=reference)
                recipient = f"rate.{run}.{n}@nhs.net"
                await enqueue(session, rendered, recipient, cause, mail_identity(settings), secure_domains(settings))

        env = {
            "SEND_RATE_PER_S": str(RATE),
            "SEND_RATE_BURST": str(BURST),
            "SEND_BATCH_SIZE": "4",  # small claims, so both replicas take a share
            "SEND_POLL_INTERVAL_S": "0.05",
        }
        with stack.served_replicas("notification", 2, database=DATABASE, **env) as replicas:

            async def all_sent() -> list[Notification]:
                async with queue.runtime.sessions() as session:
                    found = (
                        await session.scalars(
                            Notification.__table__.select()
                            .where(Notification.case_reference == reference, Notification.status == "sent")
                            .with_only_columns(Notification.message_id)
                        )
                    ).all()
                return list(found) if len(found) == MAILS else []

            ours = set(await eventually(all_sent, within=90))
            last_of_ours = max(at for at, message_id in arrivals(stack.layout.mail, started) if message_id in ours)
            by_replica = [metric(r.url, "notification_send_outcomes_total", verdict="delivered") for r in replicas]

    assert all(sent > 0 for sent in by_replica), f"one replica sent everything: {by_replica}"
    deliveries = accepted_at(stack.layout.mail, started, until=last_of_ours)
    assert {user for _, user in deliveries} == {RELAY_USER}  # one account
    times = [at for at, _ in deliveries]
    assert len(times) >= MAILS
    over = [(count, seconds) for count, seconds in most_in_a_window(times) if count > BURST + RATE * seconds + 1]
    assert not over, f"windows over the account's limit (count, seconds): {over[:5]} of {len(over)}"
    spread = (times[-1] - times[0]).total_seconds()
    assert spread >= (len(times) - BURST - 1) / RATE, f"{len(times)} mails reached the relay within {spread:.2f} s"
    print(f"replica rate limit: {len(times)} mails, by replica {by_replica}, spread {spread:.2f} s at {RATE:g}/s")
