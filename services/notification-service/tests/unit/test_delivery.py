from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.state_machine import IllegalTransition
from notification_service.domain.delivery import (
    DELIVERY,
    Classification,
    DeliveryAction,
    NotificationStatus,
    RelayCircuit,
    RelayReply,
    RetryPolicy,
    TransportFault,
    Verdict,
    after_attempt,
    classify,
    classify_exception,
    counts_as_attempt,
    next_status,
    slot_waits,
)

S = NotificationStatus
A = DeliveryAction
POLICY = RetryPolicy(base_s=1.0, cap_s=60.0, max_attempts=8)


class ResponseError(Exception):
    """Shaped like aiosmtplib.SMTPResponseException (code + message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code, self.message = code, message


class RecipientsRefused(Exception):
    def __init__(self, recipients: list[ResponseError]) -> None:
        super().__init__(recipients)
        self.recipients = recipients


# --- status transitions


@pytest.mark.parametrize(
    ("current", "action", "target"),
    [
        (S.queued, A.claim, S.sending),
        (S.sending, A.deliver, S.sent),
        (S.sending, A.defer, S.queued),
        (S.sending, A.release, S.queued),
        (S.sending, A.fail, S.failed),
        (S.failed, A.resend, S.queued),
    ],
)
def test_allowed_transitions(current: NotificationStatus, action: DeliveryAction, target: NotificationStatus) -> None:
    assert next_status(current, action) is target


@pytest.mark.parametrize(
    ("current", "action"),
    [(S.sent, A.resend), (S.sent, A.claim), (S.queued, A.deliver), (S.failed, A.deliver), (S.queued, A.resend)],
)
def test_forbidden_transitions(current: NotificationStatus, action: DeliveryAction) -> None:
    with pytest.raises(IllegalTransition) as raised:
        next_status(current, action)
    assert raised.value.state == current


def test_sent_is_final() -> None:
    assert DELIVERY.allowed(S.sent) == []
    assert DELIVERY.final_states() == {S.sent}


# --- classifying SMTP outcomes


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        (RelayReply(250, "OK"), Verdict.delivered),
        (RelayReply(421, "closing"), Verdict.relay_unavailable),
        (RelayReply(450, "mailbox busy"), Verdict.retry),
        (RelayReply(451, "local error"), Verdict.retry),
        (RelayReply(550, "mailbox unavailable"), Verdict.permanent),
        (RelayReply(554, "rejected"), Verdict.permanent),
        (TransportFault.connection, Verdict.relay_unavailable),
        (TransportFault.timeout, Verdict.relay_unavailable),
    ],
)
def test_classify(outcome: RelayReply | TransportFault, verdict: Verdict) -> None:
    assert classify(outcome).verdict is verdict


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (ConnectionRefusedError("refused"), Verdict.relay_unavailable),
        (TimeoutError(), Verdict.relay_unavailable),
        (OSError("network unreachable"), Verdict.relay_unavailable),
        (ResponseError(421, "Service not available"), Verdict.relay_unavailable),
        (ResponseError(452, "insufficient storage"), Verdict.retry),
        (ValueError("something odd"), Verdict.retry),
        (ResponseError(550, "5.1.1 user unknown"), Verdict.permanent),
        (RecipientsRefused([ResponseError(550, "no such user")]), Verdict.permanent),
        (RecipientsRefused([ResponseError(450, "greylisted")]), Verdict.retry),
    ],
)
def test_classify_exception(error: BaseException, verdict: Verdict) -> None:
    assert classify_exception(error).verdict is verdict


def test_5xx_fails_with_the_reason_and_no_retry() -> None:
    step = after_attempt(1, classify(RelayReply(550, "5.1.1 user unknown")), POLICY, random.Random(1))
    assert step.status is S.failed
    assert step.retry_in_s is None
    assert step.last_error == "550 5.1.1 user unknown"


def test_4xx_is_retried_later() -> None:
    step = after_attempt(1, classify(RelayReply(451, "try again")), POLICY, random.Random(1))
    assert step.status is S.queued
    assert step.retry_in_s is not None and 0 <= step.retry_in_s <= 1.0
    assert step.last_error == "451 try again"


def test_gives_up_after_max_attempts() -> None:
    step = after_attempt(8, classify(RelayReply(451, "try again")), POLICY, random.Random(1))
    assert step.status is S.failed
    assert step.last_error is not None and step.last_error.startswith("gave up after 8 attempts")


def test_an_unavailable_relay_is_not_an_attempt() -> None:
    outage = classify(TransportFault.connection)
    assert not counts_as_attempt(outage)
    assert counts_as_attempt(classify(RelayReply(451, "later")))
    with pytest.raises(ValueError, match="not an attempt"):
        after_attempt(1, outage, POLICY, random.Random(1))


def test_delivered_clears_the_error() -> None:
    step = after_attempt(3, Classification(Verdict.delivered, "250 OK"), POLICY, random.Random(1))
    assert (step.status, step.retry_in_s, step.last_error) == (S.sent, None, None)


# --- backoff


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0.01, max_value=10),
    extra=st.floats(min_value=0, max_value=1000),
    seed=st.integers(),
)
def test_backoff_stays_within_full_jitter_bounds(attempts: int, base: float, extra: float, seed: int) -> None:
    policy = RetryPolicy(base_s=base, cap_s=base + extra, max_attempts=5)
    delay = policy.delay(attempts, random.Random(seed))
    assert 0 <= delay <= min(policy.cap_s, base * 2 ** min(attempts - 1, 60))


def test_backoff_ceiling_doubles_then_caps() -> None:
    assert [POLICY.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_seeded_backoff_is_reproducible_and_jittered() -> None:
    first = [POLICY.delay(5, random.Random(42)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng = random.Random(42)
    spread = {round(POLICY.delay(5, rng), 6) for _ in range(50)}
    assert len(spread) > 40  # full jitter: retries of many notifications do not line up


def test_policy_rejects_cap_below_base() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base_s=10, cap_s=1)


# --- rate limiter


def test_slots_within_the_bucket_go_at_once_and_the_rest_one_interval_apart() -> None:
    # a full bucket of 3 at 2/s, 5 slots reserved: 3 at once, then 0.5 s and 1 s
    assert slot_waits(left=3 - 5, reserved=5, rate_per_s=2.0) == pytest.approx([0, 0, 0, 0.5, 1.0])


def test_slots_owed_wait_behind_those_reserved_before() -> None:
    # another replica's reservation left the bucket 4 short: this one's 2 slots follow it
    assert slot_waits(left=-4 - 2, reserved=2, rate_per_s=10.0) == pytest.approx([0.5, 0.6])


def test_part_of_a_token_counts() -> None:
    assert slot_waits(left=0.5 - 1, reserved=1, rate_per_s=4.0) == pytest.approx([0.125])


@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=50),
    st.floats(min_value=0.5, max_value=100),
    st.integers(min_value=1, max_value=10),
)
def test_reservations_one_after_another_never_exceed_the_rate_plus_burst(
    sizes: list[int], rate: float, burst: int
) -> None:
    """Reservations at one instant (the worst case: no refill between them), as the database's
    statement makes them: every slot's time, over all reservations, keeps within burst + rate x time."""
    tokens, times = float(burst), []
    for n in sizes:
        tokens -= n
        times += slot_waits(tokens, n, rate)
    times.sort()
    for k, at in enumerate(times):
        assert k + 1 <= burst + rate * at + 1e-6


def test_a_slot_needs_a_rate_and_a_count() -> None:
    with pytest.raises(ValueError):
        slot_waits(0, 1, 0)
    with pytest.raises(ValueError):
        slot_waits(0, 0, 1)


# --- relay circuit


def test_relay_circuit_pauses_grow_to_the_cap_and_close_on_success() -> None:
    circuit = RelayCircuit(base_s=1.0, cap_s=8.0, rng=random.Random(3))
    assert not circuit.is_open and circuit.wait_s(0.0) == 0.0
    pauses = [circuit.failed(now=0.0, reason="refused") for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    for pause, ceiling in zip(pauses, ceilings, strict=True):
        assert ceiling / 2 <= pause <= ceiling  # equal jitter: at least half the ceiling
    assert circuit.is_open and circuit.wait_s(0.0) == pytest.approx(pauses[-1])
    assert circuit.wait_s(100.0) == 0.0  # due: probe now
    circuit.succeeded()
    assert not circuit.is_open and circuit.failures == 0 and circuit.last_reason is None


@given(failures=st.integers(min_value=1, max_value=5_000), seed=st.integers())
def test_relay_pause_is_bounded(failures: int, seed: int) -> None:
    circuit = RelayCircuit(base_s=0.5, cap_s=30.0, rng=random.Random(seed))
    assert 0.25 <= circuit.pause_for(failures) <= 30.0
