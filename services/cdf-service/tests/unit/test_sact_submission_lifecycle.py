"""The SACT submission lifecycle table, and the worker's SQL that takes its states from it."""

import pytest

from casework.state_machine import IllegalTransition
from cdf_service.domain.sact_submissions import (
    LIFECYCLE,
    UPLOAD_STARTS,
    SubmissionStatus,
    SubmissionStep,
    may_resubmit,
    next_status,
    sql_states,
)
from cdf_service.sact.claims import CLAIM
from cdf_service.use_cases.sact_intake import _UPLOADED


def test_every_status_is_reachable_from_an_upload_and_only_processed_is_final() -> None:
    assert LIFECYCLE.reachable(UPLOAD_STARTS) == {str(s) for s in SubmissionStatus}
    assert LIFECYCLE.final_states() == {SubmissionStatus.PROCESSED}


def test_a_file_in_one_piece_is_received_at_once_and_a_worker_ahead_of_an_upload_keeps_its_claim() -> None:
    assert next_status(UPLOAD_STARTS, SubmissionStep.FINISH_UPLOAD) is SubmissionStatus.RECEIVED
    assert next_status("processing", SubmissionStep.FINISH_UPLOAD) is SubmissionStatus.PROCESSING
    with pytest.raises(IllegalTransition):
        next_status("processed", SubmissionStep.FINISH_UPLOAD)


def test_only_a_failed_submission_may_be_sent_again() -> None:
    assert [s for s in SubmissionStatus if may_resubmit(s)] == [SubmissionStatus.FAILED]
    assert next_status("failed", SubmissionStep.RESUBMIT) is UPLOAD_STARTS


def test_a_claim_is_taken_over_only_while_a_worker_holds_it_and_fails_only_from_a_worker() -> None:
    assert LIFECYCLE.sources(SubmissionStep.TAKE_OVER) == ["matching", "processing"]
    assert LIFECYCLE.sources(SubmissionStep.FAIL) == ["matching", "processing"]
    with pytest.raises(IllegalTransition):
        next_status("matching", SubmissionStep.ROWS_WRITTEN)  # rows are written once


def test_the_worker_claims_and_the_upload_finishes_with_the_tables_states() -> None:
    claim = " ".join(CLAIM.text.split())
    assert f"status IN ({sql_states(SubmissionStep.CLAIM)})" in claim
    assert "status IN ('received', 'receiving')" in claim and "status <> 'receiving' OR chunks_total > 0" in claim
    assert "status IN ('matching', 'processing') AND heartbeat_at <" in claim
    assert "SET status = 'processing'" in claim
    assert "WHEN status = 'receiving' THEN 'received' ELSE status END" in " ".join(_UPLOADED.text.split())
