"""The outcome of a send: each attempt's result written to its notification, while the claim is still
the sender's, with notification.sent or notification.failed in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from casework.tracing import attached
from notification_service.db.claims import Claimed, N
from notification_service.domain.delivery import NextStep, NotificationStatus
from notification_service.runtime import NotificationRuntime


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, waiting to be written."""

    claimed: Claimed
    attempts: int
    step: NextStep
    at: datetime
    trace: dict[str, str] | None = None  # the send's span: the outcome event continues from it


async def record(runtime: NotificationRuntime, outcomes: list[Outcome]) -> list[Outcome]:
    """Write outcomes and their events in one transaction; returns those whose claim was lost.

    Written a few at a time for throughput: a crash before this commit resends those messages, with
    the same Message-IDs, after their lease.
    """
    lost: list[Outcome] = []
    if not outcomes:
        return lost
    async with runtime.unit_of_work() as uow:
        for outcome in outcomes:
            claimed, step = outcome.claimed, outcome.step
            updated = await uow.session.scalar(
                update(N)
                .where(N.c.id == claimed.id, N.c.claim_token == claimed.token)
                .values(**_values(outcome))
                .returning(N.c.id)
            )
            if updated is None:
                lost.append(outcome)
                continue
            payload = claimed.outcome(outcome.attempts)
            with attached(outcome.trace):  # the outcome event belongs to the send's trace
                if step.status is NotificationStatus.sent:
                    uow.emit("notification.sent", str(claimed.id), {**payload, "sent_at": outcome.at})
                elif step.status is NotificationStatus.failed:
                    uow.emit("notification.failed", str(claimed.id), {**payload, "error": step.last_error})
        await uow.commit()
    return lost


def _values(outcome: Outcome) -> dict[str, Any]:
    step = outcome.step
    values: dict[str, Any] = {
        "status": step.status.value,
        "attempts": outcome.attempts,
        "last_error": step.last_error[:2000] if step.last_error else None,
        "claim_token": None,
        "lease_until": None,
        "updated_at": outcome.at,
        "version": N.c.version + 1,
    }
    if step.status is NotificationStatus.sent:
        values["sent_at"] = outcome.at
    if step.retry_in_s is not None:
        values["next_attempt_at"] = outcome.at + timedelta(seconds=step.retry_in_s)
    return values
