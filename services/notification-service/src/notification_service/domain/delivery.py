"""Delivery rules: status transitions, what an SMTP outcome means, retry timing and the relay rate limit.

No I/O here: the sender adapter maps aiosmtplib's exceptions onto `RelayReply` / `TransportFault`
(or passes the exception to `classify_exception`, which only duck-types `.code` / `.message`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casework.backoff import backoff_delay
from casework.state_machine import TransitionTable


class NotificationStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class DeliveryAction(StrEnum):
    claim = "claim"  # a sender took the notification (row lock + lease)
    deliver = "deliver"  # the relay accepted it
    defer = "defer"  # a temporary reply about this message: try again later (attempt counted)
    release = "release"  # the relay itself was unavailable: back in the queue, no attempt counted
    fail = "fail"  # a permanent reply, or the attempts ran out
    resend = "resend"  # staff send a failed notification again


# The only moves a notification can make. `failed -> queued` is the staff "resend" action;
# `sent` is final so a resend of a delivered mail is a new notification, not a second delivery.
DELIVERY = TransitionTable(
    "notification",
    {
        (NotificationStatus.queued, DeliveryAction.claim): NotificationStatus.sending,
        (NotificationStatus.sending, DeliveryAction.deliver): NotificationStatus.sent,
        (NotificationStatus.sending, DeliveryAction.defer): NotificationStatus.queued,
        (NotificationStatus.sending, DeliveryAction.release): NotificationStatus.queued,
        (NotificationStatus.sending, DeliveryAction.fail): NotificationStatus.failed,
        (NotificationStatus.failed, DeliveryAction.resend): NotificationStatus.queued,
    },
)
DELIVERY.check_covers(NotificationStatus)


def next_status(current: NotificationStatus | str, action: DeliveryAction) -> NotificationStatus:
    """The status after `action`; raises `IllegalTransition` (409 at the API) for an illegal move."""
    return NotificationStatus(DELIVERY.next_state(str(current), action))


class Verdict(StrEnum):
    delivered = "delivered"
    retry = "retry"  # temporary reply about this message: try it again later
    permanent = "permanent"  # the relay refused this message for good: no further tries
    # The relay itself is unreachable or closing (connection refused, timeout, 421): not a reply
    # about any one message, so no notification's attempts are spent; the whole sender backs off.
    relay_unavailable = "relay_unavailable"


class TransportFault(StrEnum):
    connection = "connection"
    timeout = "timeout"


@dataclass(frozen=True)
class RelayReply:
    code: int
    text: str = ""


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    reason: str


# 421: "service not available, closing transmission channel" (RFC 5321 3.8): about the relay.
RELAY_CLOSING = 421


def classify(outcome: RelayReply | TransportFault) -> Classification:
    """2xx delivered; 4xx retry; 5xx fail with the reason; connection errors, timeouts and 421
    mean the relay is unavailable (back off the sender, count no attempt)."""
    if isinstance(outcome, TransportFault):
        return Classification(Verdict.relay_unavailable, f"relay {outcome.value} error")
    reason = f"{outcome.code} {outcome.text}".strip()
    if 200 <= outcome.code < 300:
        return Classification(Verdict.delivered, reason)
    if outcome.code == RELAY_CLOSING:
        return Classification(Verdict.relay_unavailable, reason)
    if 500 <= outcome.code < 600:
        return Classification(Verdict.permanent, reason)
    # 4xx is temporary by definition (RFC 5321 4.2.1); anything unexpected is treated the same way,
    # bounded by the attempt limit, rather than dropping a mail on a reply we do not understand.
    return Classification(Verdict.retry, reason)


def classify_exception(error: BaseException) -> Classification:
    """Map a sending exception without importing the SMTP client (duck-typed `.code`)."""
    code = getattr(error, "code", None)
    if isinstance(code, int) and 200 <= code < 600:
        return classify(RelayReply(code, str(getattr(error, "message", "") or "")))
    refusals = getattr(error, "recipients", None)
    if isinstance(refusals, list) and refusals:
        # Every recipient refused (we send one per message): judge by the refusals themselves.
        verdicts = [classify_exception(r) for r in refusals]
        temporary = [c for c in verdicts if c.verdict is Verdict.retry]
        return temporary[0] if temporary else verdicts[0]
    # aiosmtplib's timeout and disconnect errors subclass TimeoutError / ConnectionError.
    if isinstance(error, TimeoutError):
        return classify(TransportFault.timeout)
    if isinstance(error, OSError):
        return classify(TransportFault.connection)
    return Classification(Verdict.retry, f"{type(error).__name__}: {error}")


def counts_as_attempt(outcome: Classification) -> bool:
    """Attempts count replies about the message; an unavailable relay said nothing about it."""
    return outcome.verdict is not Verdict.relay_unavailable


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter: retry n waits uniform(0, min(cap, base * 2**(n-1)))."""

    model_config = ConfigDict(frozen=True)

    base_s: float = Field(1.0, gt=0)
    cap_s: float = Field(60.0, gt=0)
    max_attempts: int = Field(8, ge=1)

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> RetryPolicy:
        if self.cap_s < self.base_s:
            raise ValueError("cap_s must be at least base_s")
        return self

    def ceiling(self, attempts_made: int) -> float:
        # Clamp the exponent: past ~60 doublings the cap has long applied, and 2**1100 overflows a float.
        exponent = min(max(attempts_made - 1, 0), 60)
        return float(min(self.cap_s, self.base_s * 2**exponent))

    def delay(self, attempts_made: int, rng: random.Random) -> float:
        """Seconds to wait after `attempts_made` (>= 1) failed attempts."""
        return backoff_delay(min(max(attempts_made - 1, 0), 60), self.base_s, self.cap_s, rng)


@dataclass(frozen=True)
class NextStep:
    """What to record after an attempt: the new status, when to try again, and the last error."""

    status: NotificationStatus
    retry_in_s: float | None
    last_error: str | None


def after_attempt(attempts_made: int, outcome: Classification, policy: RetryPolicy, rng: random.Random) -> NextStep:
    """The decision after attempt number `attempts_made` (counting this one) ended with `outcome`."""
    if outcome.verdict is Verdict.relay_unavailable:
        raise ValueError("an unavailable relay is not an attempt: release the notification instead")
    if outcome.verdict is Verdict.delivered:
        return NextStep(NotificationStatus.sent, None, None)
    if outcome.verdict is Verdict.permanent:
        return NextStep(NotificationStatus.failed, None, outcome.reason)
    if attempts_made >= policy.max_attempts:
        reason = f"gave up after {attempts_made} attempts: {outcome.reason}"
        return NextStep(NotificationStatus.failed, None, reason)
    return NextStep(NotificationStatus.queued, policy.delay(attempts_made, rng), outcome.reason)


def slot_waits(left: float, reserved: int, rate_per_s: float) -> list[float]:
    """Seconds from the reservation until each of `reserved` slots of a token bucket may be used.

    `left` is what the bucket holds after the reservation took its tokens (below zero: slots owed,
    reserved ahead of time). Slot i spends the bucket's (i+1)-th token: free at once while the bucket
    held it, else once the rate has refilled the shortfall."""
    if rate_per_s <= 0 or reserved < 1:
        raise ValueError("rate_per_s must be > 0 and reserved >= 1")
    before = left + reserved
    return [max(0.0, (i + 1 - before) / rate_per_s) for i in range(reserved)]


@dataclass
class RelayCircuit:
    """Relay-level backoff: while the relay is unreachable the sender pauses, probes, and resumes.

    Each consecutive failure doubles the pause up to `cap_s`, with "equal jitter" (half fixed,
    half random) so the pause really grows while replicas still spread their probes. A success
    closes the circuit. Notifications are not charged for any of this.
    """

    base_s: float
    cap_s: float
    rng: random.Random = field(default_factory=random.Random)
    failures: int = field(default=0, init=False)
    retry_at: float | None = field(default=None, init=False)
    last_reason: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError("base_s must be > 0 and cap_s >= base_s")

    @property
    def is_open(self) -> bool:
        return self.retry_at is not None

    def pause_for(self, failures: int) -> float:
        ceiling = float(min(self.cap_s, self.base_s * 2 ** min(max(failures - 1, 0), 60)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def failed(self, now: float, reason: str) -> float:
        """Record a failed connection or probe; returns the pause before the next probe."""
        self.failures += 1
        self.last_reason = reason
        pause = self.pause_for(self.failures)
        self.retry_at = now + pause
        return pause

    def succeeded(self) -> None:
        self.failures, self.retry_at, self.last_reason = 0, None, None

    def wait_s(self, now: float) -> float:
        """Seconds until the next probe may run (0 when closed or due)."""
        return 0.0 if self.retry_at is None else max(self.retry_at - now, 0.0)
