"""The sender's side of the outbound queue: claim due notifications and release claims (the outcomes are
written by `use_cases.deliveries`).

A claim is `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)` that marks rows `sending`
with a claim token and a lease, committed at once: replicas never take the same row, no database
connection is held while talking to the relay, and a crashed sender's rows are taken over when their
lease runs out. Every outcome is written only if the row still carries our token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql import func

from casework.db import table_of
from notification_service.db.models import Notification
from notification_service.domain.delivery import NotificationStatus
from notification_service.runtime import NotificationRuntime

Q, SENDING = NotificationStatus.queued.value, NotificationStatus.sending.value
N = table_of(Notification)


@dataclass(frozen=True)
class Claimed:
    """A claimed notification: what the sender needs to build, send and record it."""

    id: uuid.UUID
    token: uuid.UUID
    source_event_id: uuid.UUID
    source_event_type: str
    template: str
    template_version: int
    recipient: str
    case_reference: str | None
    subject: str
    body_text: str
    body_html: str
    message_id: str
    in_reply_to: str | None
    references: str | None
    attempts: int
    trace_context: dict[str, str] | None = None  # what queued it: sending continues that trace

    def outcome(self, attempts: int) -> dict[str, Any]:
        """The common part of the `notification.sent` / `notification.failed` payloads."""
        return {
            "notification_id": self.id,
            "source_event_id": self.source_event_id,
            "source_event_type": self.source_event_type,
            "template": self.template,
            "recipient": self.recipient,
            "message_id": self.message_id,
            "case_reference": self.case_reference,
            "attempts": attempts,
        }


_FIELDS = [c for c in Claimed.__dataclass_fields__ if c != "token"]


async def claim(runtime: NotificationRuntime, limit: int, lease_s: float) -> list[Claimed]:
    token = uuid.uuid4()
    due = (
        select(N.c.id)
        .where(
            or_(
                and_(N.c.status == Q, N.c.next_attempt_at <= func.now()),
                and_(N.c.status == SENDING, N.c.lease_until < func.now()),  # a crashed sender's claim
            )
        )
        .order_by(N.c.next_attempt_at, N.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    async with runtime.sessions() as session, session.begin():
        rows = (
            await session.execute(
                update(N)
                .where(N.c.id.in_(due.scalar_subquery()))
                .values(
                    status=SENDING,
                    claim_token=token,
                    lease_until=func.now() + timedelta(seconds=lease_s),
                    updated_at=func.now(),
                    version=N.c.version + 1,
                )
                .returning(N.c.next_attempt_at, *(N.c[f] for f in _FIELDS))
            )
        ).all()
    ordered = sorted(rows, key=lambda r: r.next_attempt_at)
    return [Claimed(token=token, **{f: getattr(r, f) for f in _FIELDS}) for r in ordered]


async def release(runtime: NotificationRuntime, claimed: list[Claimed], reason: str) -> None:
    """Back to the queue, due at once, with no attempt counted (the relay was at fault, not the mail)."""
    if not claimed:
        return
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(N)
            .where(N.c.id.in_([c.id for c in claimed]), N.c.claim_token == claimed[0].token)
            .values(
                status=Q,
                claim_token=None,
                lease_until=None,
                last_error=reason[:2000],
                next_attempt_at=func.now(),
                updated_at=func.now(),
                version=N.c.version + 1,
            )
        )
