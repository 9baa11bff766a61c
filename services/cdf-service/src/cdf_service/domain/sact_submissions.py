"""The life of a SACT submission, as the upload, the worker and a resubmission move it.

A submission's status row is written with its upload. A file small enough to arrive in one piece is
stored whole (`received`); a larger one arrives piece by piece (`receiving`) and a worker may start on
the stored pieces before the last one is in. A worker's claim (`processing`) validates and writes the
rows, then matches them to approvals (`matching`); a small file is finished in one transaction. A
worker that stops beating its heartbeat has its claim taken over by another. Only a failed submission
may be sent again under the same submission id (any other answers with the one on file).

Much of this moves in SQL (a claim is one UPDATE ... SKIP LOCKED), so the statements take their
states from this table (`sources`, `next_state`) instead of spelling them out.
"""

from __future__ import annotations

from enum import StrEnum

from casework.state_machine import TransitionTable


class SubmissionStatus(StrEnum):
    RECEIVING = "receiving"
    RECEIVED = "received"
    PROCESSING = "processing"
    MATCHING = "matching"
    PROCESSED = "processed"
    FAILED = "failed"


class SubmissionStep(StrEnum):
    FINISH_UPLOAD = "finish_upload"  # the last piece is stored
    CLAIM = "claim"  # a worker takes it up (from `receiving` only once a piece is stored)
    TAKE_OVER = "take_over"  # another worker takes a claim whose heartbeat stopped
    ROWS_WRITTEN = "rows_written"  # every row validated and written: matching starts
    FINISH = "finish"
    FAIL = "fail"
    RESUBMIT = "resubmit"  # the trust sends it again under the same submission id


# Where a new upload starts: `FINISH_UPLOAD` moves it on at once when the file came in one piece.
UPLOAD_STARTS = SubmissionStatus.RECEIVING

LIFECYCLE = TransitionTable(
    "sact_submission",
    {
        (SubmissionStatus.RECEIVING, SubmissionStep.FINISH_UPLOAD): SubmissionStatus.RECEIVED,
        # a worker ahead of the upload keeps its claim when the last piece arrives
        (SubmissionStatus.PROCESSING, SubmissionStep.FINISH_UPLOAD): SubmissionStatus.PROCESSING,
        (SubmissionStatus.RECEIVED, SubmissionStep.CLAIM): SubmissionStatus.PROCESSING,
        (SubmissionStatus.RECEIVING, SubmissionStep.CLAIM): SubmissionStatus.PROCESSING,
        (SubmissionStatus.PROCESSING, SubmissionStep.TAKE_OVER): SubmissionStatus.PROCESSING,
        (SubmissionStatus.MATCHING, SubmissionStep.TAKE_OVER): SubmissionStatus.PROCESSING,
        (SubmissionStatus.PROCESSING, SubmissionStep.ROWS_WRITTEN): SubmissionStatus.MATCHING,
        (SubmissionStatus.PROCESSING, SubmissionStep.FINISH): SubmissionStatus.PROCESSED,  # a small file, at once
        (SubmissionStatus.MATCHING, SubmissionStep.FINISH): SubmissionStatus.PROCESSED,
        (SubmissionStatus.PROCESSING, SubmissionStep.FAIL): SubmissionStatus.FAILED,
        (SubmissionStatus.MATCHING, SubmissionStep.FAIL): SubmissionStatus.FAILED,
        (SubmissionStatus.FAILED, SubmissionStep.RESUBMIT): SubmissionStatus.RECEIVING,
    },
)
LIFECYCLE.check_covers(SubmissionStatus)


def next_status(status: SubmissionStatus | str, step: SubmissionStep) -> SubmissionStatus:
    """The status after `step`; raises casework's IllegalTransition for a move the table lacks."""
    return SubmissionStatus(LIFECYCLE.next_state(status, step))


def may_resubmit(status: SubmissionStatus | str) -> bool:
    return LIFECYCLE.can(status, SubmissionStep.RESUBMIT)


def sql_states(step: SubmissionStep) -> str:
    """The states `step` leaves, as an SQL list (`'matching', 'processing'`) for the worker's statements;
    the values are this module's enum members, never input."""
    return ", ".join(f"'{state}'" for state in LIFECYCLE.sources(step))
