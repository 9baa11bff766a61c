"""Unapproved use as a worklist, over the real stack: SACT shows a listed drug given with no approval,
the detection names the patient (to the trust), drug, entries and row; the trust answers (a checked
approval reference, or an explanation), the commissioner accepts or challenges, then closes."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from cdf_helpers import application_body, confirmed_clinician, entry, load_seed_list, next_patient_index, processed
from sqlalchemy import text

from cdf_service.domain.national_list import EntryStatus
from cdf_service.synthetic.national import Course, seed_entries, two_cycle_course
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import RunningService, TestStack

pytestmark = pytest.mark.integration
TRUST = "RGT"
BASE = "/api/v1/cdf/unapproved-uses"


def unapproved_course() -> Course:
    listed = next(e for e in sorted(seed_entries().values(), key=lambda e: e.entry_id) if e.status == EntryStatus.OPEN)
    return two_cycle_course(listed, TRUST, nhs_number_for(next_patient_index()), "1234567", approved=False)


async def upload(svc: RunningService, stack: TestStack, courses: list[Course]) -> str:
    buffer = io.StringIO()
    write_sact_csv(buffer, courses, date.today() - timedelta(days=1), random.Random(5))
    response = await svc.client.post(
        "/api/v1/sact/submissions",
        params={"provider_ods": TRUST, "period": date.today().strftime("%Y-%m"), "submission_id": uuid.uuid4().hex},
        content=buffer.getvalue().encode(),
        headers={**stack.auth(TRUST, "trust_cdf_lead"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _events(svc: RunningService, key: str) -> list[str]:
    async with svc.runtime.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT event_type FROM outbox_events WHERE message_key = :k ORDER BY id"), {"k": key}
        )
        return [r[0] for r in rows]


async def step(
    svc: RunningService, stack: TestStack, detection: dict[str, Any], action: str, body: dict[str, Any], *auth: str
) -> Any:
    got = await svc.client.get(f"{BASE}/{detection['id']}", headers=stack.auth(*auth))
    return await svc.client.post(
        f"{BASE}/{detection['id']}/{action}", json=body, headers={**stack.auth(*auth), "If-Match": got.headers["ETag"]}
    )


async def test_a_detection_is_followed_from_open_to_closed(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        first, second = unapproved_course(), unapproved_course()
        submission = await upload(svc, stack, [first, second])
        done = await processed(svc.client, stack, submission, within=60)
        assert done["matched"].get("unapproved") == 2, done

        lead = (TRUST, "trust_cdf_lead")
        listed = await svc.client.get(BASE, params={"submission_id": submission}, headers=stack.auth(*lead))
        assert listed.status_code == 200, listed.text
        items = {i["nhs_number"]: i for i in listed.json()["items"]}
        assert set(items) == {first.nhs_number, second.nhs_number}
        one = items[first.nhs_number]
        assert one["status"] == "open" and one["drug_name"] == first.drugs[0]
        assert one["entry_ids"] == [first.entry_id] and one["row_no"] >= 1
        assert one["first_administration"] == first.regimen_start.isoformat()
        assert one["your_actions"] == ["answer"] and one["submission_id"] == submission
        assert await _events(svc, one["id"]) == ["cdf.unapproved_use.detected"]
        by_entry = await svc.client.get(BASE, params={"entry_id": first.entry_id}, headers=stack.auth(*lead))
        assert first.nhs_number in {i["nhs_number"] for i in by_entry.json()["items"]}
        assert all(first.entry_id in i["entry_ids"] for i in by_entry.json()["items"])
        nowhere = await svc.client.get(BASE, params={"entry_id": "CDF-NOT-LISTED-1"}, headers=stack.auth(*lead))
        assert nowhere.status_code == 200 and nowhere.json()["items"] == []

        # another trust sees none of them; an analyst sees them without NHS numbers
        other = await svc.client.get(f"{BASE}/{one['id']}", headers=stack.auth("RRV", "trust_cdf_lead"))
        assert other.status_code == 404
        assert (await svc.client.get(BASE, headers=stack.auth("RRV", "trust_cdf_lead"))).json()["items"] == []
        analyst = await svc.client.get(f"{BASE}/{one['id']}", headers=stack.auth("X24", "national_analyst"))
        assert analyst.json()["nhs_number"] is None
        manager = await svc.client.get(f"{BASE}/{one['id']}", headers=stack.auth("X24", "cdf_manager"))
        assert manager.json()["nhs_number"] == first.nhs_number and manager.json()["your_actions"] == []

        # bad answers name their fields; a change needs the version read
        no_version = await svc.client.post(f"{BASE}/{one['id']}/answer", json={}, headers=stack.auth(*lead))
        assert no_version.status_code == 428
        empty = await step(svc, stack, one, "answer", {}, *lead)
        assert empty.status_code == 422
        assert {e["field"] for e in empty.json()["errors"]} == {"approval_reference", "explanation"}
        unknown = await step(svc, stack, one, "answer", {"approval_reference": "CDF-NOSUCH"}, *lead)
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "approval_reference"

        # an approval of another patient does not cover it; the patient's own (applied for since) does
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed_entry = await entry(svc.client, stack, first.entry_id)
        headers = {**stack.auth(TRUST, "clinician"), "Idempotency-Key": uuid.uuid4().hex}
        own = await svc.client.post(
            "/api/v1/cdf/applications",
            json=application_body(listed_entry, first.nhs_number, TRUST, gmc),
            headers=headers,
        )
        assert own.status_code == 201 and own.json()["status"] == "approved", own.text
        wrong = await step(
            svc, stack, items[second.nhs_number], "answer", {"approval_reference": own.json()["reference"]}, *lead
        )
        assert wrong.status_code == 422 and "another patient" in wrong.json()["errors"][0]["message"]
        answered = await step(svc, stack, one, "answer", {"approval_reference": own.json()["reference"]}, *lead)
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "answered" and answered.json()["application_id"] == own.json()["id"]
        explained = await step(
            svc, stack, items[second.nhs_number], "answer", {"explanation": "Given in error on the day unit"}, *lead
        )
        assert explained.json()["status"] == "answered"

        # the commissioner decides; the trust may not
        commissioner = ("X24", "cdf_manager")
        refused = await step(svc, stack, one, "accept", {}, *lead)
        assert refused.status_code == 403
        accepted = await step(svc, stack, one, "accept", {"note": "Retrospective approval seen"}, *commissioner)
        assert accepted.json()["status"] == "accepted" and accepted.json()["your_actions"] == ["close"]
        no_reason = await step(svc, stack, items[second.nhs_number], "challenge", {"reason": " "}, *commissioner)
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
        challenged = await step(
            svc, stack, items[second.nhs_number], "challenge", {"reason": "Not funded: no approval"}, *commissioner
        )
        assert (
            challenged.json()["status"] == "challenged"
            and challenged.json()["decision_note"] == "Not funded: no approval"
        )
        again = await step(svc, stack, one, "challenge", {"reason": "x"}, *commissioner)
        assert again.status_code == 409
        closed = await step(svc, stack, one, "close", {}, *commissioner)
        assert closed.json()["status"] == "closed" and closed.json()["allowed_actions"] == []
        assert await _events(svc, one["id"]) == [
            "cdf.unapproved_use.detected",
            "cdf.unapproved_use.answered",
            "cdf.unapproved_use.accepted",
            "cdf.unapproved_use.closed",
        ]

        # the worklist filters by state; the CSV carries no NHS numbers
        open_now = await svc.client.get(BASE, params={"status": ["challenged"]}, headers=stack.auth(*commissioner))
        assert [i["id"] for i in open_now.json()["items"] if i["provider_ods"] == TRUST] == [challenged.json()["id"]]
        exported = await svc.client.get(f"{BASE}.csv", params={"provider": TRUST}, headers=stack.auth(*lead))
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["status"] for r in rows} == {"closed", "challenged"} and "nhs_number" not in rows[0]
        assert first.nhs_number not in exported.text
        async with svc.runtime.unit_of_work() as uow:
            audited = await uow.session.scalar(
                text("SELECT count(*) FROM audit_events WHERE entity_id = :id AND action = 'read'"), {"id": one["id"]}
            )
        assert audited and audited >= 1
