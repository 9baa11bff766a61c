"""How far the upload of a submission being processed has got, for a worker that takes a large file up
while it is still arriving: the pieces stored so far and whether the last has come; the worker's
heartbeat under its claim while it waits for the next piece; an upload that stopped fails after
SACT_STALE_AFTER_S (send the file again).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from cdf_service.runtime import CdfRuntime
from cdf_service.sact.claims import Claimed
from cdf_service.sact.processing import lost_or_gone

UPLOAD_POLL_S = 0.05  # how often a worker ahead of an upload looks for its next piece
HEARTBEAT_EVERY_S = 5.0


class UploadStalled(Exception):
    pass


class UploadProgress:
    """How far the upload of a submission being processed has got; the worker's heartbeat while it waits."""

    def __init__(self, runtime: CdfRuntime, claimed: Claimed) -> None:
        self.runtime, self.submission_id, self.token = runtime, claimed.id, claimed.token
        self.chunks_total, self.complete = 0, False
        self._moved_at = self._beat_at = time.monotonic()

    async def refresh(self, beat: bool = False) -> None:
        query = text(
            "UPDATE sact_submissions SET heartbeat_at = CASE WHEN :beat THEN now() ELSE heartbeat_at END "
            "WHERE id = :sid AND claim_token = :token RETURNING chunks_total, upload_complete"
        )
        params = {"sid": self.submission_id, "beat": beat, "token": self.token}
        async with self.runtime.unit_of_work() as uow:
            row = (await uow.session.execute(query, params)).first()
            if row is None:
                raise await lost_or_gone(uow, self.submission_id)
            await uow.commit()
        if row.chunks_total != self.chunks_total:
            self._moved_at = time.monotonic()
        self.chunks_total, self.complete = row.chunks_total, row.upload_complete

    async def wait_for_more(self, seq: int) -> None:
        """Until a piece beyond `seq` is stored or the upload completes; fails an upload that stopped."""
        stale_after = self.runtime.settings.sact_stale_after_s
        beat_every = min(HEARTBEAT_EVERY_S, stale_after / 3)  # well inside the time others wait before a takeover
        while True:
            beat = time.monotonic() - self._beat_at >= beat_every
            await self.refresh(beat)
            if beat:
                self._beat_at = time.monotonic()
            if self.complete or self.chunks_total > seq:
                return
            if time.monotonic() - self._moved_at > stale_after:
                raise UploadStalled(f"no piece of the file arrived for {stale_after:g} s; send the file again")
            await asyncio.sleep(UPLOAD_POLL_S)
