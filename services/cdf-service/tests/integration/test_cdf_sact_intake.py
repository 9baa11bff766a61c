"""SACT intake against the real database and broker: the report, matching, and events once per fact."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from cdf_helpers import load_seed_list
from sqlalchemy import text

from cdf_service.sact_schema import SACT_V4
from cdf_service.synthetic.national import SyntheticTrust, TrustPlan, build_trust
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.event_checks import read_topic
from embedded_stack.testing import RunningService, TestStack, eventually

pytestmark = pytest.mark.integration
TRUST = "RPY"
MATCH_EVENTS = ("cdf.treatment.started", "cdf.treatment.stopped", "cdf.approval.lapsed", "cdf.unapproved_use.detected")


async def register_clinicians(svc: RunningService, stack: TestStack, synthetic: SyntheticTrust) -> None:
    for clinician in synthetic.clinicians:
        body = {
            "trust_ods": clinician.trust,
            "gmc_number": clinician.gmc,
            "name": clinician.name,
            "email": clinician.email,
        }
        made = await svc.client.post(
            "/api/v1/cdf/clinicians", json=body, headers=stack.auth(clinician.trust, "clinician")
        )
        assert made.status_code == 201, made.text
        lead = {**stack.auth(clinician.trust, "trust_cdf_lead"), "If-Match": made.headers["ETag"]}
        assert (
            await svc.client.post(f"/api/v1/cdf/clinicians/{made.json()['id']}/confirm", headers=lead)
        ).status_code == 200


async def approve_all(svc: RunningService, stack: TestStack, synthetic: SyntheticTrust) -> int:
    headers = stack.auth(synthetic.trust, "clinician")
    approved = 0
    for body in synthetic.applications():
        made = await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)
        assert made.status_code == 201, made.text
        approved += made.json()["status"] == "approved"
    return approved


def expected_events(synthetic: SyntheticTrust, as_of: date, today: date) -> Counter[str]:
    """What the generated history must produce, by the DOMAIN rules (28-day window, early start allowed)."""
    expected: Counter[str] = Counter()
    for course in synthetic.cdf_courses:
        assert course.planned_start is not None
        given = course.regimen_start is not None and course.cycle_starts(as_of)
        window = (course.planned_start - timedelta(days=28), course.planned_start + timedelta(days=28))
        started = course.approved and given and window[0] <= course.regimen_start <= window[1]
        if started:
            expected["cdf.treatment.started"] += 1
            expected["cdf.treatment.stopped"] += course.final_treatment(as_of) is not None
            continue
        if given:
            expected["cdf.unapproved_use.detected"] += 1
        if course.approved and window[1] < today:
            expected["cdf.approval.lapsed"] += 1
    return expected


async def outbox_counts(svc: RunningService, trust: str) -> Counter[str]:
    async with svc.runtime.unit_of_work() as uow:
        rows = await uow.session.execute(
            text(
                "SELECT event_type, count(*) FROM outbox_events WHERE envelope->'data'->>'provider_ods' = :trust "
                "AND event_type = ANY(:types) GROUP BY event_type"
            ),
            {"trust": trust, "types": list(MATCH_EVENTS)},
        )
        return Counter({r[0]: r[1] for r in rows})


async def submit_csv(svc: RunningService, stack: TestStack, data: bytes, submission_id: str) -> Any:
    params = {"provider_ods": TRUST, "period": "2026-10", "submission_id": submission_id}
    headers = {**stack.auth(TRUST, "provider_system"), "Content-Type": "text/csv"}
    return await svc.client.post("/api/v1/sact/submissions", params=params, content=data, headers=headers)


async def processed(svc: RunningService, stack: TestStack, submission_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        got = await svc.client.get(
            f"/api/v1/sact/submissions/{submission_id}", headers=stack.auth(TRUST, "trust_cdf_lead")
        )
        body = got.json()
        assert body["status"] not in ("failed",), body
        return body if body["status"] == "processed" else None

    return await eventually(done, within=120, interval=0.2)


async def full_report(svc: RunningService, stack: TestStack, submission_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = await svc.client.get(
            f"/api/v1/sact/submissions/{submission_id}/report", params=params, headers=stack.auth(TRUST, "cdf_manager")
        )
        items += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            return items


async def test_sact_file_report_matching_and_events_once(stack: TestStack) -> None:
    rng = random.Random(4242)
    plan = TrustPlan(cdf_patients=70, routine_patients=2400)
    synthetic = build_trust(TRUST, plan, rng)
    buffer = io.StringIO()
    bad = {"bad_nhs_number": 3, "unknown_drug": 2, "given_before_start": 2, "duplicate_cycle": 2}
    written, injected = write_sact_csv(buffer, synthetic.courses, plan.as_of, rng, bad)
    data = buffer.getvalue().encode()
    assert written > 15_000
    async with stack.service("cdf", lapse_sweep_interval_s=0, sact_chunk_bytes=512 * 1024) as svc:
        await load_seed_list(svc.client, stack)
        await register_clinicians(svc, stack, synthetic)
        approved = await approve_all(svc, stack, synthetic)
        assert approved == len(synthetic.applications())

        first = await submit_csv(svc, stack, data, "RPY-2026-10-A")
        assert first.status_code == 202, first.text
        assert first.headers["Location"].endswith(first.json()["id"])
        done = await processed(svc, stack, first.json()["id"])
        assert done["chunks_total"] > 5 and done["chunks_done"] == done["chunks_total"]
        assert (done["rows_total"], done["rows_rejected"]) == (written, len(injected))
        assert done["rows_accepted"] == written - len(injected)

        # the report lists exactly the injected bad rows, each with the field at fault
        report = await full_report(svc, stack, first.json()["id"])
        assert sorted((p["row"], p["field"]) for p in report) == sorted((i.row, i.field) for i in injected)
        reasons = {p["field"]: p["reason"] for p in report}
        assert "Modulus 11" in reasons["NHS_NUMBER"] and "unknown drug" in reasons["DRUG_NAME"]
        before_start = [p["reason"] for p in report if p["field"].startswith("ADMINISTRATION_")]
        assert before_start == ["is before the start date of the regimen"] * 2
        assert "duplicate cycle" in reasons["CYCLE_NUMBER"]

        expected = expected_events(synthetic, plan.as_of, date.today())
        assert all(expected[t] > 0 for t in MATCH_EVENTS), expected  # the data exercises every rule
        assert await outbox_counts(svc, TRUST) == expected

        # the same file again under the same id: the first submission, not processed again
        again = await submit_csv(svc, stack, data, "RPY-2026-10-A")
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        # and under a new id: processed in full, but no fact is new, so no event repeats
        second = await submit_csv(svc, stack, data, "RPY-2026-10-B")
        assert second.status_code == 202 and second.json()["id"] != first.json()["id"]
        redone = await processed(svc, stack, second.json()["id"])
        assert redone["rows_rejected"] == len(injected)
        assert await outbox_counts(svc, TRUST) == expected

        # each event reached the cdf.events topic once
        async def published() -> Counter[str] | None:
            records = await read_topic(stack.bootstrap_servers, "cdf.events", idle_s=0.5)
            events = [json.loads(r.value) for r in records]
            counts = Counter(
                e["type"] for e in events if e["data"].get("provider_ods") == TRUST and e["type"] in MATCH_EVENTS
            )
            return counts if counts == expected else None

        assert await eventually(published, within=30, interval=0.5) == expected

        # approvals carry what SACT said: a stopped treatment has its date, reason and cycles
        listed = await svc.client.get(
            "/api/v1/cdf/applications",
            params={"status": "treatment_stopped", "limit": 500},
            headers=stack.auth(TRUST, "cdf_manager"),
        )
        stopped = [a for a in listed.json()["items"] if a["provider_ods"] == TRUST]
        assert len(stopped) == expected["cdf.treatment.stopped"]
        assert all(a["cycles_given"] >= 1 and a["stop_reason"] and a["final_treatment_date"] for a in stopped)
        treatments = await svc.client.get(
            "/api/v1/cdf/treatments",
            params={"provider": TRUST, "limit": 500},
            headers=stack.auth(TRUST, "trust_cdf_lead"),
        )
        items = treatments.json()["items"]
        assert len(items) == expected["cdf.treatment.started"]
        assert sum(t["final_treatment_date"] is None for t in items) == len(items) - expected["cdf.treatment.stopped"]
        assert all(t["cost_to_date"] != "0.00" and "nhs_number" not in t for t in items)
        exported = await svc.client.get(
            "/api/v1/cdf/treatments.csv",
            params={"provider": TRUST, "running": "false"},
            headers=stack.auth(TRUST, "trust_cdf_lead"),
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        stopped_refs = {t["reference"] for t in items if t["final_treatment_date"]}
        assert {r["reference"] for r in rows} == stopped_refs and all(r["stop_reasons"] for r in rows)
        assert "patient_ref" not in rows[0] and "nhs_number" not in rows[0]
        elsewhere = await svc.client.get(
            "/api/v1/cdf/treatments.csv", params={"provider": TRUST}, headers=stack.auth("RJ1", "trust_cdf_lead")
        )
        assert list(csv.DictReader(io.StringIO(elsewhere.text))) == []  # another trust's lead: none of them


async def test_json_batch_and_a_bad_header(stack: TestStack) -> None:
    rng = random.Random(7)
    plan = TrustPlan(cdf_patients=0, routine_patients=2)
    synthetic = build_trust("RHQ", plan, rng)
    buffer = io.StringIO()
    write_sact_csv(buffer, synthetic.courses, plan.as_of, rng)
    lines = buffer.getvalue().splitlines()
    records: list[dict[str, Any]] = [dict(zip(SACT_V4.headers, row, strict=True)) for row in csv.reader(lines[1:4])]
    records[1]["ADMINISTRATION_TIMESTAMP_INFUSION"] = "2026-02-30T10:00:00"
    records[1]["ADMINISTRATION_DATE_ORAL_DRUG_DISPENSED"] = ""
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        headers = stack.auth("RHQ", "provider_system")
        batch = {"provider_ods": "RHQ", "period": "2026-10", "submission_id": "json-1", "records": records}
        made = await svc.client.post("/api/v1/sact/submissions", json=batch, headers=headers)
        assert made.status_code == 202, made.text
        done = await eventually(lambda: _status(svc, stack, made.json()["id"], "RHQ"), within=30, interval=0.1)
        assert (done["rows_total"], done["rows_accepted"], done["rows_rejected"]) == (3, 2, 1)
        assert done["report"] == [
            {
                "row": 2,
                "field": "ADMINISTRATION_TIMESTAMP_INFUSION",
                "reason": "not a date and time (YYYY-MM-DDThh:mm:ss): '2026-02-30T10:00:00'",
            }
        ]
        assert done["sact_version"] == "4.0"
        async with svc.runtime.sessions() as session:  # the audit keeps the batch's key, not its records
            details = (
                (
                    await session.execute(
                        text("SELECT detail FROM audit_events WHERE action = 'submit' AND entity_id = :id"),
                        {"id": made.json()["id"]},
                    )
                )
                .scalars()
                .all()
            )
        assert details == [{"provider_ods": "RHQ", "period": "2026-10", "submission_id": "json-1"}]

        unknown_key = {**batch, "submission_id": "json-2", "records": [{"NHS_NUMBER": "x", "SHOE_SIZE": "9"}]}
        refused = await svc.client.post("/api/v1/sact/submissions", json=unknown_key, headers=headers)
        assert refused.status_code == 422 and "SHOE_SIZE" in refused.text

        header = ",".join(f for f in SACT_V4.headers if f != "NHS_NUMBER") + "\n"
        params = {"provider_ods": "RHQ", "period": "2026-10", "submission_id": "csv-bad-header"}
        bad_header = await svc.client.post(
            "/api/v1/sact/submissions",
            params=params,
            content=header.encode(),
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert bad_header.status_code == 422
        assert bad_header.json()["errors"] == [{"field": "NHS_NUMBER", "message": "column missing from the header"}]
        listed = await svc.client.get("/api/v1/sact/submissions", params={"provider": "RHQ"}, headers=headers)
        assert [s["submission_id"] for s in listed.json()["items"]] == ["json-1"]  # the refused file left nothing

        def listed_as(status: str) -> Any:
            params = {"provider": "RHQ", "status": status}
            return svc.client.get("/api/v1/sact/submissions", params=params, headers=headers)

        assert [s["submission_id"] for s in (await listed_as("processed")).json()["items"]] == ["json-1"]
        assert (await listed_as("failed")).json()["items"] == []
        unknown = await listed_as("done")  # a status the lifecycle lacks: a 422 at `status`, not an empty page
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "status", unknown.text

        other_trust = await svc.client.get(
            f"/api/v1/sact/submissions/{made.json()['id']}", headers=stack.auth("RRV", "provider_system")
        )
        assert other_trust.status_code == 404
        csv_report = await svc.client.get(f"/api/v1/sact/submissions/{made.json()['id']}/report.csv", headers=headers)
        assert csv_report.text.splitlines() == [
            "row,field,reason",
            "2,ADMINISTRATION_TIMESTAMP_INFUSION,not a date and time (YYYY-MM-DDThh:mm:ss): '2026-02-30T10:00:00'",
        ]


async def _status(svc: RunningService, stack: TestStack, submission_id: str, trust: str) -> dict[str, Any] | None:
    body = (
        await svc.client.get(f"/api/v1/sact/submissions/{submission_id}", headers=stack.auth(trust, "trust_cdf_lead"))
    ).json()
    await asyncio.sleep(0)
    return body if body["status"] == "processed" else None
