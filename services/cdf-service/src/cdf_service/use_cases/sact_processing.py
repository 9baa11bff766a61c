"""Finishing a processed SACT submission: its status and counts, `cdf.sact_submission.processed` and the
audit row. The worker (sact.worker) calls these last: on the locked status row of a large submission, or,
for a small one processed at once, as statements staged for the unit of work's closing statement.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import JSONB

from casework.db import table_of
from cdf_service.db.models import SactChunk, SactSubmission
from cdf_service.domain.sact_submissions import SubmissionStatus, SubmissionStep, next_status
from cdf_service.runtime import CdfUnitOfWork

ACTOR = "system:cdf-sact-worker"


def record_processed(uow: CdfUnitOfWork, submission: SactSubmission, counts: Counter[str]) -> None:
    """The submission is done: its status and counts (on the locked row), the event and the audit row."""
    submission.status = next_status(submission.status, SubmissionStep.FINISH)
    submission.finished_at = datetime.now(UTC)
    submission.matched = dict(counts)
    totals = (submission.rows_total, submission.rows_accepted, submission.rows_rejected)
    announce_processed(
        uow, submission.id, provider_ods=submission.provider_ods, period=submission.period, totals=totals, counts=counts
    )


def announce_processed(
    uow: CdfUnitOfWork,
    submission_id: uuid.UUID,
    *,
    provider_ods: str,
    period: str,
    totals: tuple[int, int, int],
    counts: Counter[str],
) -> None:
    """`cdf.sact_submission.processed` and the audit row of a finished submission."""
    rows_total, rows_accepted, rows_rejected = totals
    uow.emit(
        "cdf.sact_submission.processed",
        str(submission_id),
        {
            "submission_id": submission_id,
            "provider_ods": provider_ods,
            "period": period,
            "rows_total": rows_total,
            "rows_accepted": rows_accepted,
            "rows_rejected": rows_rejected,
        },
    )
    uow.audit(ACTOR, "process", "sact_submission", submission_id, detail=dict(counts))


# A small submission is finished by statements built once, written with the event and audit rows in
# the unit of work's one closing statement (casework.prepared).
_FINISHED = (
    update(table_of(SactSubmission))
    .where(table_of(SactSubmission).c.id == bindparam("done_sid"))
    .values(
        status=next_status(SubmissionStatus.PROCESSING, SubmissionStep.FINISH),
        rows_total=bindparam("done_total"),
        rows_accepted=bindparam("done_accepted"),
        rows_rejected=bindparam("done_rejected"),
        chunks_done=bindparam("done_chunks"),
        matched=bindparam("done_matched", type_=JSONB),
        finished_at=func.now(),
        heartbeat_at=func.now(),
    )
)
_PIECES_DROPPED = delete(table_of(SactChunk)).where(table_of(SactChunk).c.submission_id == bindparam("drop_sid"))


def stage_small_finished(
    uow: CdfUnitOfWork, submission_id: uuid.UUID, *, chunks: int, totals: tuple[int, int, int], counts: Counter[str]
) -> None:
    """The status row of a submission processed at once, and its stored piece dropped, at the commit."""
    total, accepted, rejected = totals
    values = {"done_sid": submission_id, "done_total": total, "done_accepted": accepted}
    values |= {"done_rejected": rejected, "done_chunks": chunks, "done_matched": dict(counts)}
    uow.stage(_FINISHED, values)
    uow.stage(_PIECES_DROPPED, {"drop_sid": submission_id})
