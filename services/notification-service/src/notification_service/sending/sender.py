"""The sender: takes due notifications from the queue and sends them through the relay.

* One connection is reused for a run of messages (throughput), paced by the relay account's token
  bucket, which every replica shares (sending.rate_limit).
* A reply about a message counts an attempt: 2xx sent; 4xx retried later with exponential backoff
  and full jitter; 5xx failed at once with the reply as the reason.
* An unreachable relay (connection refused, timeout, TLS or login failure, 421) is not the message's
  fault: the claimed notifications go back to the queue uncharged and the whole sender pauses with a
  growing delay, then probes the relay before taking work again. A relay outage of minutes
  therefore fails nothing; the queue drains when the relay returns.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy.exc import DBAPIError

from casework.backoff import backoff_delay
from casework.logs import get_logger
from casework.tracing import continued, stored_trace
from casework.worker import Worker
from notification_service.config import mail_identity, notification_settings, secure_domains
from notification_service.db.claims import Claimed, claim, release
from notification_service.domain.delivery import (
    Classification,
    RelayCircuit,
    RetryPolicy,
    Verdict,
    after_attempt,
)
from notification_service.domain.message import build_message
from notification_service.domain.templates import RenderedMail
from notification_service.metrics import RELAY_AVAILABLE, SEND_OUTCOMES
from notification_service.runtime import NotificationRuntime
from notification_service.sending.rate_limit import SharedRateLimit
from notification_service.sending.relay import RelayConnection, RelayUnavailable
from notification_service.use_cases.deliveries import Outcome, record

log = get_logger(__name__)


class Sender:
    def __init__(self, runtime: NotificationRuntime, rng: random.Random | None = None) -> None:
        self.runtime = runtime
        self.settings = s = notification_settings(runtime.settings)
        self.rng = rng or random.Random()
        self.relay = RelayConnection(s)
        self.circuit = RelayCircuit(
            s.relay_backoff_base_s, max(s.relay_backoff_cap_s, s.relay_backoff_base_s), self.rng
        )
        self.limit = SharedRateLimit(runtime.engine, self.relay.account, s.send_rate_per_s, s.send_rate_burst)
        self.policy = RetryPolicy(
            base_s=s.send_retry_base_s,
            cap_s=max(s.send_retry_cap_s, s.send_retry_base_s),
            max_attempts=s.send_max_attempts,
        )
        self.identity = mail_identity(s)
        self.secure = secure_domains(s)

    async def run(self) -> None:
        """Round after round while there is work; idle, a round every SEND_POLL_INTERVAL_S. A failing round
        (the database away, say) is logged and the next comes after the poll interval."""
        worker = Worker(
            "sender",
            self.round,
            service=self.runtime.settings.service_name,
            poll_s=lambda: self.settings.send_poll_interval_s,
            failure_message="sending round failed",
        )
        try:
            await worker.run()
        finally:
            await self.relay.close()

    async def round(self) -> bool:
        """Wait out a relay pause, probe, claim a batch and send it; False when there was nothing to do."""
        pause = self.circuit.wait_s(time.monotonic())
        if pause > 0:
            await asyncio.sleep(pause)
        if self.circuit.is_open and not await self.connect():
            return True  # still down: the next round waits the (longer) pause
        batch = await claim(self.runtime, self.settings.send_batch_size, self.settings.send_lease_s)
        if not batch:
            await self.relay.close()  # idle: do not hold a connection the relay would time out
            return False
        await self.send_batch(batch)
        return True

    async def connect(self) -> bool:
        try:
            await self.relay.open()
        except RelayUnavailable as exc:
            RELAY_AVAILABLE.set(0)
            pause = self.circuit.failed(time.monotonic(), str(exc))
            log.warning("relay unavailable; sender paused", reason=str(exc), pause_s=round(pause, 2))
            return False
        if self.circuit.is_open:
            log.info("relay reachable again; sending resumes", after_failures=self.circuit.failures)
        self.circuit.succeeded()
        RELAY_AVAILABLE.set(1)
        return True

    async def send_batch(self, batch: list[Claimed]) -> None:
        started = time.monotonic()
        # Stop well before the lease ends, so no other replica can take a row we are still sending.
        lease = self.settings.send_lease_s
        budget = max(lease - 3 * self.settings.smtp_timeout_s, lease / 2)
        pending: list[Outcome] = []
        # Our claim holds until the lease ends: an outcome not written by then may be sent again by
        # whoever takes the row, so writing it is worth retrying (a database outage) until just before.
        written_by = started + lease - self.settings.smtp_timeout_s
        try:
            for index, claimed in enumerate(batch):
                rest = batch[index:]
                if time.monotonic() - started > budget:
                    await release(self.runtime, rest, "claim lease running short; sent in a later round")
                    return
                if not await self.connect():
                    await release(self.runtime, rest, f"relay unavailable: {self.circuit.last_reason}")
                    return
                await self.limit.wait_for_slot(len(rest))
                with continued("mail send", claimed.trace_context, attributes=_span_attributes(claimed)):
                    outcome = await self.attempt(claimed)
                    trace = stored_trace()
                SEND_OUTCOMES.labels(outcome.verdict.value).inc()
                if outcome.verdict is Verdict.relay_unavailable:
                    RELAY_AVAILABLE.set(0)
                    pause = self.circuit.failed(time.monotonic(), outcome.reason)
                    log.warning("relay failed mid-batch; sender paused", reason=outcome.reason, pause_s=round(pause, 2))
                    await release(self.runtime, rest, f"relay unavailable: {outcome.reason}")
                    return
                attempts = claimed.attempts + 1
                step = after_attempt(attempts, outcome, self.policy, self.rng)
                pending.append(Outcome(claimed, attempts, step, datetime.now(UTC), trace))
                if len(pending) >= self.settings.send_record_every:
                    await self.flush(pending, written_by)
        finally:
            await self.flush(pending, written_by)
            self.limit.drop_unused()

    async def attempt(self, claimed: Claimed) -> Classification:
        try:
            message = self.message(claimed)
        except Exception as exc:  # a row that can never become a message must not block the queue
            return Classification(Verdict.permanent, f"cannot build the message: {exc}")
        return await self.relay.send(message, claimed.recipient)

    async def flush(self, pending: list[Outcome], written_by: float) -> None:
        """Write what was sent so far (one transaction); the list is emptied. While the database is away
        the write is tried again until `written_by` (monotonic): the relay has these messages, and an
        outcome dropped now would send each of them again after the lease (the fault probe's PostgreSQL
        outage sent 20 mails twice)."""
        written, pending[:] = list(pending), []
        failures = 0
        while True:
            try:
                lost = await record(self.runtime, written)
                break
            except (OSError, DBAPIError) as exc:
                failures += 1
                delay = backoff_delay(failures, base=0.2, cap=2.0)
                if time.monotonic() + delay >= written_by:
                    raise
                log.warning("outcome write failed; retrying", error=repr(exc), retry_in_s=round(delay, 3))
                await asyncio.sleep(delay)
        for each in lost:
            log.error("claim lost before the outcome was written", notification_id=str(each.claimed.id))

    def message(self, claimed: Claimed) -> EmailMessage:
        rendered = RenderedMail(
            claimed.template, claimed.template_version, claimed.subject, claimed.body_text, claimed.body_html
        )
        message = build_message(
            rendered,
            recipient=claimed.recipient,
            event_id=claimed.source_event_id,
            identity=self.identity,
            secure_domains=self.secure,
            sent_at=datetime.now(UTC),
            in_reply_to=claimed.in_reply_to,
            references=(claimed.references or "").split(),
        )
        # The id queued with the row wins, even if MESSAGE_ID_DOMAIN changed since: a resend must match.
        message.replace_header("Message-ID", claimed.message_id)
        return message


def _span_attributes(claimed: Claimed) -> dict[str, str | int]:
    return {
        "casework.notification_id": str(claimed.id),
        "casework.template": claimed.template,
        "casework.source_event_type": claimed.source_event_type,
        "casework.attempt": claimed.attempts + 1,
    }


async def sender_loop(runtime: NotificationRuntime) -> None:
    await Sender(runtime).run()
