"""Submitting a month of a trust's SACT data (a CSV file streamed, or a JSON batch): the trust, period
and the trust's id for the file name one submission. The same again returns the first, unless it failed:
then it is sent again, what the failed one stored removed first. A new upload is stored whole (small)
or piece by piece for the worker (sact.worker) to process; a header that is not the declared version's
stores nothing (HeaderError).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select

from casework.auth import Principal
from casework.tracing import stored_trace
from cdf_service.db.models import SactSubmission
from cdf_service.domain.sact_submissions import may_resubmit
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.use_cases import sact_intake
from cdf_service.use_cases.sact_intake import Pieces


class SubmissionKey(Protocol):
    """What names a submission (the route's parsed key: the body's, or the CSV upload's query)."""

    provider_ods: str
    period: str
    submission_id: str

    def model_dump(self) -> dict[str, Any]: ...


class Submitted(NamedTuple):
    submission: SactSubmission
    accepted: bool  # False: an earlier submission with the same key stands (returned as it is)
    whole: bool  # stored whole just now with its status row (nothing processed yet)


async def submit(
    uow: CdfUnitOfWork,
    runtime: CdfRuntime,
    key: SubmissionKey,
    *,
    pieces: Callable[[], Pieces],
    declared: int | None,
    source_format: str,
    principal: Principal,
) -> Submitted:
    """The submission stored (or the one that stands); `pieces` makes the upload's pieces once the
    submission is open. Raises HeaderError, with nothing stored, for a header not of the declared version."""
    existing = await _existing(uow, key)
    if existing is not None and not may_resubmit(existing.status):
        return Submitted(existing, accepted=False, whole=False)
    submission = await _open(uow, runtime, key, existing, source_format, principal)
    whole = await sact_intake.receive(uow, runtime, submission, source=pieces(), declared=declared)
    return Submitted(submission, accepted=True, whole=whole)


async def _existing(uow: Any, key: SubmissionKey) -> SactSubmission | None:
    query = select(SactSubmission).where(
        SactSubmission.provider_ods == key.provider_ods,
        SactSubmission.period == key.period,
        SactSubmission.submission_ref == key.submission_id,
    )
    return await uow.session.scalar(query)


async def _open(
    uow: Any,
    runtime: CdfRuntime,
    key: SubmissionKey,
    failed: SactSubmission | None,
    source_format: str,
    principal: Principal,
) -> SactSubmission:
    """A new status row (written by `sact_intake.receive` with the upload), or the failed one reset."""
    if failed is not None:
        await sact_intake.discard(runtime, failed.id, keep_row=True)
        submission = failed
        for name in ("chunks_total", "chunks_done", "rows_total", "rows_accepted", "rows_rejected", "bytes_received"):
            setattr(submission, name, 0)
        submission.matched, submission.error, submission.finished_at, submission.started_at = {}, None, None, None
    else:
        submission = SactSubmission(
            id=uuid.uuid4(),
            provider_ods=key.provider_ods,
            period=key.period,
            submission_ref=key.submission_id,
            columns=[],
            matched={},
            bytes_received=0,
            chunks_total=0,
            chunks_done=0,
            rows_total=0,
            rows_accepted=0,
            rows_rejected=0,
            created_by=principal.sub,
        )
        uow.session.add(submission)
    submission.source_format = source_format
    submission.trace_context = stored_trace()  # the worker's processing continues this request's trace
    # the key only: a JSON batch is a key with its records, and those hold NHS numbers
    detail = {"provider_ods": key.provider_ods, "period": key.period, "submission_id": key.submission_id}
    uow.audit(principal, "submit", "sact_submission", submission.id, detail=detail)
    return submission
