"""Small SACT uploads (a trust's system sending a few administrations): stored and processed at once,
one transaction each, and two of one trust processed side by side never lose each other's cycles."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import random
from datetime import date, timedelta
from typing import Any

import pytest
from cdf_helpers import confirmed_clinician, load_seed_list, next_patient_index, processed
from sqlalchemy import text

from casework.runtime import ServiceDefinition
from casework.services import load_definition
from cdf_service.db import list_repo
from cdf_service.db.list_cache import list_cache
from cdf_service.domain.national_list import EntryStatus
from cdf_service.sact.worker import SactWorker, sact_worker
from cdf_service.synthetic.national import Course, application_for, seed_entries
from cdf_service.synthetic.national import two_cycle_course as given_two_cycles
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import RunningService, TestStack, eventually

pytestmark = pytest.mark.integration
TRUST = "RQ3"
OTHER_TRUST = "RBV"  # no other test's trust: its unapproved use stays out of their lists


def two_cycle_course(gmc: str) -> tuple[Course, Any]:
    """An approved course of an open entry whose first two cycles have been given by yesterday."""
    entry = next(e for e in sorted(seed_entries().values(), key=lambda e: e.entry_id) if e.status == EntryStatus.OPEN)
    return given_two_cycles(entry, TRUST, nhs_number_for(next_patient_index()), gmc, approved=True), entry


def sact_lines(course: Course) -> tuple[str, list[str]]:
    buffer = io.StringIO()
    write_sact_csv(buffer, [course], date.today() - timedelta(days=1), random.Random(3))
    header, *rows = buffer.getvalue().splitlines()
    return header, rows


async def post(
    svc: RunningService, stack: TestStack, submission_id: str, lines: list[str], trust: str = TRUST
) -> dict[str, Any]:
    response = await svc.client.post(
        "/api/v1/sact/submissions",
        params={"provider_ods": trust, "period": date.today().strftime("%Y-%m"), "submission_id": submission_id},
        content=("\n".join(lines) + "\n").encode(),
        headers={**stack.auth(trust, "provider_system"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    return response.json()


async def forecasts_done(svc: RunningService) -> None:
    """The forecaster has taken every pair marked (the approvals' forecasts are done before the uploads)."""

    async def marks_taken() -> bool:
        async with svc.runtime.unit_of_work() as uow:
            return not await uow.session.scalar(text("SELECT count(*) FROM forecast_dirty"))

    await eventually(marks_taken, within=30, interval=0.05)


async def approval(svc: RunningService, stack: TestStack, application_id: str) -> dict[str, Any]:
    got = await svc.client.get(f"/api/v1/cdf/applications/{application_id}", headers=stack.auth(TRUST, "cdf_manager"))
    return got.json()


async def test_small_uploads_are_processed_at_once_and_side_by_side(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0, sact_workers=4) as svc:
        await load_seed_list(svc.client, stack)
        async with svc.runtime.unit_of_work() as uow:  # the worker's copy of the list names what the list does
            cached = await list_cache(svc.runtime).drug_names(uow.session, ttl_s=60)
            assert cached == await list_repo.drug_names(uow.session) and cached

        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        first, entry = two_cycle_course(gmc)
        second, _ = two_cycle_course(gmc)
        ids = []
        for course in (first, second):
            made = await svc.client.post(
                "/api/v1/cdf/applications", json=application_for(course, entry), headers=stack.auth(TRUST, "clinician")
            )
            assert made.status_code == 201 and made.json()["status"] == "approved", made.text
            ids.append(made.json()["id"])

        await forecasts_done(svc)

        # one row: stored with its status row, answered before processing, then processed whole
        header, rows = sact_lines(first)
        assert len(rows) == 2
        accepted = await post(svc, stack, "one-row", [header, rows[0]])
        assert (accepted["status"], accepted["chunks_total"], accepted["report_total"]) == ("received", 1, 0)
        done = await processed(svc.client, stack, accepted["id"])
        assert (done["rows_total"], done["rows_accepted"], done["rows_rejected"]) == (1, 1, 0)
        assert done["matched"]["started"] == 1 and done["chunks_done"] == 1
        started = await approval(svc, stack, ids[0])
        assert (started["status"], started["cycles_given"]) == ("treatment_started", 1)
        async with svc.runtime.unit_of_work() as uow:  # re-forecast in the upload's own transaction
            same_transaction = await uow.session.scalar(
                text(
                    "SELECT f.computed_at = s.finished_at FROM forecasts f, sact_submissions s "
                    "WHERE f.provider_ods = :trust AND f.entry_id = :entry AND s.id = :sid"
                ),
                {"trust": TRUST, "entry": entry.entry_id, "sid": accepted["id"]},
            )
        assert same_transaction is True

        # a repeated row in a small upload is a duplicate cycle, as in a large file
        repeated = await processed(
            svc.client, stack, (await post(svc, stack, "repeat", [header, rows[1], rows[1]]))["id"]
        )
        assert (repeated["rows_accepted"], repeated["rows_rejected"]) == (1, 1)
        assert [(p["row"], p["field"]) for p in repeated["report"]] == [(2, "CYCLE_NUMBER")]
        assert (await approval(svc, stack, ids[0]))["cycles_given"] == 2

        # the other patient's two cycles in two uploads at the same moment: whichever matches second
        # sees the first's rows, so the approval ends with both cycles, the first cycle's date as its
        # start (in either order) and one start event
        header, rows = sact_lines(second)
        uploads = await asyncio.gather(*(post(svc, stack, f"side-{i}", [header, row]) for i, row in enumerate(rows)))
        for upload in uploads:
            await processed(svc.client, stack, upload["id"])
        both = await approval(svc, stack, ids[1])
        assert (both["status"], both["cycles_given"]) == ("treatment_started", 2)
        assert both["first_administration"] == second.regimen_start.isoformat()

        async with svc.runtime.unit_of_work() as uow:
            starts = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM outbox_events WHERE event_type = 'cdf.treatment.started' "
                    "AND envelope->'data'->>'provider_ods' = :trust"
                ),
                {"trust": TRUST},
            )
            pieces_left = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM sact_chunks c JOIN sact_submissions s ON s.id = c.submission_id "
                    "WHERE s.provider_ods = :trust"
                ),
                {"trust": TRUST},
            )
            unapproved = await uow.session.scalar(
                text("SELECT count(*) FROM unapproved_uses WHERE provider_ods = :trust"), {"trust": TRUST}
            )
        assert (starts, pieces_left, unapproved) == (2, 0, 0)


def without_sact_worker() -> ServiceDefinition[Any]:
    """cdf-service with no SACT worker of its own: the test claims and processes, so it knows what waits."""
    definition = load_definition("cdf")
    return dataclasses.replace(definition, background=[t for t in definition.background if t is not sact_worker])


async def test_small_uploads_of_a_trust_waiting_together_are_processed_in_one_transaction(stack: TestStack) -> None:
    async with stack.service(without_sact_worker(), lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        courses, ids = [], []
        for _ in range(5):
            course, entry = two_cycle_course(gmc)
            made = await svc.client.post(
                "/api/v1/cdf/applications", json=application_for(course, entry), headers=stack.auth(TRUST, "clinician")
            )
            assert made.status_code == 201 and made.json()["status"] == "approved", made.text
            courses.append(course)
            ids.append(made.json()["id"])
        await forecasts_done(svc)
        other = given_two_cycles(entry, OTHER_TRUST, nhs_number_for(next_patient_index()), gmc, approved=False)
        uploads = []
        for n, course in enumerate(courses[:3]):
            header, rows = sact_lines(course)
            uploads.append((await post(svc, stack, f"burst-{n}", [header, rows[0]]))["id"])
        other_header, other_rows = sact_lines(other)
        await post(svc, stack, "other-trust", [other_header, other_rows[0]], trust=OTHER_TRUST)

        worker = SactWorker(svc.runtime)
        claimed = await worker.claim()
        assert [str(c.id) for c in claimed] == uploads  # the trust's, in upload order; not the other trust's
        await worker.process_together(claimed)
        for upload, application_id in zip(uploads, ids, strict=False):
            done = await processed(svc.client, stack, upload, within=1)
            assert (done["rows_total"], done["rows_accepted"], done["matched"]["started"]) == (1, 1, 1)
            assert (await approval(svc, stack, application_id))["status"] == "treatment_started"
        async with svc.runtime.unit_of_work() as uow:  # one transaction: one commit time, the forecasts' too
            finished = await uow.session.scalars(
                text("SELECT DISTINCT finished_at FROM sact_submissions WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": uploads},
            )
            (at,) = finished.all()
            forecasts = await uow.session.scalar(
                text("SELECT count(*) FROM forecasts WHERE provider_ods = :trust AND computed_at = :at"),
                {"trust": TRUST, "at": at},
            )
        assert forecasts >= 1
        alone = await worker.claim()
        assert [c.provider_ods for c in alone] == [OTHER_TRUST]
        await worker.process(alone[0])

        # together they fail (one was taken over meanwhile): each alone, and the taken one is not touched
        later = []
        for n, course in enumerate(courses[3:]):
            header, rows = sact_lines(course)
            later.append((await post(svc, stack, f"later-{n}", [header, rows[0]]))["id"])
        claimed = await worker.claim()
        assert [str(c.id) for c in claimed] == later
        async with svc.runtime.unit_of_work() as uow:
            await uow.session.execute(
                text("UPDATE sact_submissions SET claim_token = gen_random_uuid() WHERE id = :sid"), {"sid": later[1]}
            )
            await uow.commit()
        await worker.process_together(claimed)
        assert (await processed(svc.client, stack, later[0], within=1))["rows_accepted"] == 1
        assert (await approval(svc, stack, ids[3]))["status"] == "treatment_started"
        taken = await svc.client.get(f"/api/v1/sact/submissions/{later[1]}", headers=stack.auth("X24", "cdf_manager"))
        assert taken.json()["status"] == "processing"
        assert (await approval(svc, stack, ids[4]))["status"] == "approved"
        async with svc.runtime.unit_of_work() as uow:  # its new owner processes it
            token = await uow.session.scalar(
                text("SELECT claim_token FROM sact_submissions WHERE id = :sid"), {"sid": later[1]}
            )
        await worker.process(claimed[1]._replace(token=token))
        assert (await processed(svc.client, stack, later[1], within=1))["rows_accepted"] == 1
        assert (await approval(svc, stack, ids[4]))["status"] == "treatment_started"
