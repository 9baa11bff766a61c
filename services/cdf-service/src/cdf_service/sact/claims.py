"""Claiming a stored SACT submission and holding the claim: a claim gives the submission a new token
(a takeover of a submission whose worker went silent for SACT_STALE_AFTER_S too), and every later write
names it, so the worker it was taken from writes nothing more (processing.ClaimLost). A submission is
failed only while the claim is still the worker's.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import text, update

from cdf_service.db.models import SactSubmission
from cdf_service.domain.sact_submissions import LIFECYCLE, SubmissionStatus, SubmissionStep, next_status, sql_states
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.sact.processing import ClaimLost, SubmissionGone, lost_or_gone

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"  # claimed_by: which process holds a submission

# A claim gives the submission a new token (a takeover too): every later write names it, so the worker
# it was taken from, should it still be running, writes nothing more (processing.ClaimLost).
# The states come from the lifecycle table; from `receiving` only once a piece is stored.
CLAIM = text(
    f"""
    UPDATE sact_submissions SET status = '{next_status(SubmissionStatus.RECEIVED, SubmissionStep.CLAIM)}',
                                started_at = coalesce(started_at, now()),
                                heartbeat_at = now(), claim_token = gen_random_uuid(), claimed_by = :worker
    WHERE id = (
        SELECT id FROM sact_submissions
        WHERE (status IN ({sql_states(SubmissionStep.CLAIM)})
               AND (status <> '{SubmissionStatus.RECEIVING}' OR chunks_total > 0))
           OR (status IN ({sql_states(SubmissionStep.TAKE_OVER)})
               AND heartbeat_at < now() - make_interval(secs => :stale))
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        LIMIT 1)
    RETURNING id, upload_complete, chunks_total, bytes_received, claim_token, trace_context, provider_ods
    """
)

# Claimed with a small first one: the other small submissions of its trust that are waiting (complete,
# one piece, never claimed), oldest first. A trust's system sending a burst of small files then has
# them matched under one hold of the trust's lock and re-forecast once (sact.worker), rather than one
# transaction each, one after another, behind that lock.
CLAIM_SMALL_OF_TRUST = text(
    f"""
    UPDATE sact_submissions SET status = '{next_status(SubmissionStatus.RECEIVED, SubmissionStep.CLAIM)}',
                                started_at = coalesce(started_at, now()),
                                heartbeat_at = now(), claim_token = gen_random_uuid(), claimed_by = :worker
    WHERE id IN (
        SELECT id FROM sact_submissions
        WHERE status = '{SubmissionStatus.RECEIVED}' AND left(provider_ods, 3) = :trust
          AND upload_complete AND chunks_total <= 1 AND bytes_received <= :inline  -- Claimed.small's rule
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        LIMIT :more)
    RETURNING id, upload_complete, chunks_total, bytes_received, claim_token, trace_context, provider_ods,
              created_at
    """
)


# The claim held while matching: each batch's transaction beats the heartbeat under the token (a
# matching phase longer than SACT_STALE_AFTER_S is not taken over), or learns the claim is lost.
_HOLD = text("UPDATE sact_submissions SET heartbeat_at = now() WHERE id = :sid AND claim_token = :token RETURNING id")


class Claimed(NamedTuple):
    id: uuid.UUID
    upload_complete: bool
    chunks_total: int
    bytes_received: int
    token: uuid.UUID
    trace_context: dict[str, str] | None = None  # the upload's: processing continues its trace
    provider_ods: str = ""

    def small(self, inline_max_bytes: int) -> bool:
        """Processed at once, in one transaction: a complete upload of one piece of at most SACT_INLINE_MAX_BYTES."""
        return self.upload_complete and self.chunks_total <= 1 and self.bytes_received <= inline_max_bytes


async def claim_next(runtime: CdfRuntime) -> list[Claimed]:
    """The next submission to process (the oldest waiting, or one whose worker went silent), claimed; a
    small one with up to SACT_BATCH_MAX - 1 more small ones of its trust (`CLAIM_SMALL_OF_TRUST`)."""
    settings = runtime.settings
    params = {"stale": settings.sact_stale_after_s, "worker": WORKER_NAME}
    async with runtime.unit_of_work() as uow:
        row = (await uow.session.execute(CLAIM, params)).first()
        claimed = [Claimed(*row)] if row is not None else []
        if claimed and settings.sact_batch_max > 1 and claimed[0].small(settings.sact_inline_max_bytes):
            more = {"worker": WORKER_NAME, "trust": claimed[0].provider_ods[:3], "more": settings.sact_batch_max - 1}
            rows = await uow.session.execute(CLAIM_SMALL_OF_TRUST, {**more, "inline": settings.sact_inline_max_bytes})
            claimed += [Claimed(*r[:-1]) for r in sorted(rows, key=lambda r: r.created_at)]
        await uow.commit()
    return claimed


async def fail_claimed(runtime: CdfRuntime, claimed: Claimed, error: str) -> bool:
    """Mark the submission failed while it is still ours; False when it is not."""
    async with runtime.unit_of_work() as uow:
        failed = await uow.session.execute(
            update(SactSubmission)
            .where(SactSubmission.id == claimed.id, SactSubmission.claim_token == claimed.token)
            .where(SactSubmission.status.in_(LIFECYCLE.sources(SubmissionStep.FAIL)))
            .values(status=SubmissionStatus.FAILED, error=error[:2000], finished_at=datetime.now(UTC))
            .returning(SactSubmission.id)
        )
        ours = failed.first() is not None
        await uow.commit()
    return ours


async def locked(uow: CdfUnitOfWork, submission_id: uuid.UUID, token: uuid.UUID) -> SactSubmission:
    """The submission's row, locked, while it is still ours."""
    submission = await uow.session.get(SactSubmission, submission_id, with_for_update=True, populate_existing=True)
    if submission is None:
        raise SubmissionGone(str(submission_id))
    if submission.claim_token != token:
        raise ClaimLost(str(submission_id))
    return submission


def holding(submission_id: uuid.UUID, token: uuid.UUID) -> Callable[[CdfUnitOfWork], Awaitable[None]]:
    """A matching batch's first step: the claim is still ours (its heartbeat beaten), else ClaimLost."""

    async def hold(uow: CdfUnitOfWork) -> None:
        if (await uow.session.execute(_HOLD, {"sid": submission_id, "token": token})).first() is None:
            raise await lost_or_gone(uow, submission_id)

    return hold
