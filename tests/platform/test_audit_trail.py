"""The information-governance audit API (casework.audit_trail) on every service, against the real
database: who read or changed one patient's records (the NHS number in the body), what one user looked at,
time ranges, cursor pages, CSV; the IG lead and administrators only; and every look at the trail is
itself an audit event."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from samples import APPLICATION, prepare_cdf
from sqlalchemy import insert

from casework.identifiers import patient_ref
from casework.pagination import encode_cursor
from casework.services import SERVICE_NAMES
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE
from notification_service.db.models import Notification

IG = "ig-lead-audit"


def ig(stack: TestStack) -> dict[str, str]:
    return stack.auth("X24", "ig_lead", sub=IG)


def patient() -> str:
    return nhs_number_for(random.randrange(100_000))


async def submitted_case(client: httpx.AsyncClient, stack: TestStack, nhs_number: str) -> str:
    headers = stack.auth("RRV", "clinician")
    body = {**APPLICATION_EXAMPLE, "patient": {**APPLICATION_EXAMPLE["patient"], "nhs_number": nhs_number}}
    draft = await client.post("/api/v1/ifr/requests", json=body, headers=headers)
    assert draft.status_code == 201, draft.text
    case_id, version = draft.json()["id"], draft.json()["version"]
    submitted = await client.post(
        f"/api/v1/ifr/requests/{case_id}/submit", headers={**headers, "If-Match": f'W/"{version}"'}
    )
    assert submitted.status_code == 200, submitted.text
    return str(case_id)


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_only_the_ig_lead_and_admins_may_read_the_trail(stack: TestStack, name: str) -> None:
    async with stack.service(name, database=f"audit_roles_{name}", run_workers=False) as svc:
        body = {"nhs_number": patient()}
        for headers in (stack.auth("X24", "ifr_officer"), stack.auth("RRV", "clinician"), {}):
            refused = await svc.client.post("/api/v1/audit/patient", json=body, headers=headers)
            assert refused.status_code in (401, 403), refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            by_user = await svc.client.get("/api/v1/audit/user", params={"subject": "x"}, headers=headers)
            assert by_user.status_code in (401, 403)
        assert (await svc.client.post("/api/v1/audit/patient", json=body, headers=ig(stack))).status_code == 200
        admin = await svc.client.post("/api/v1/audit/patient", json=body, headers=stack.auth("X24", "admin"))
        assert admin.status_code == 200 and admin.json()["items"] == [], admin.text
        assert admin.json()["records"] == 0


async def test_client_mistakes_are_422_naming_the_field(stack: TestStack) -> None:
    async with stack.service("ifr", database="audit_mistakes", run_workers=False) as svc:
        for body, field in (
            ({"nhs_number": "9434765918"}, "nhs_number"),  # fails Modulus 11
            ({}, "nhs_number"),
            ({"nhs_number": patient(), "since": "2026-12-02T10:00:00Z", "until": "2026-12-01T10:00:00Z"}, "until"),
            ({"nhs_number": patient(), "since": "2026-12-02T10:00:00"}, "since"),  # no time zone
            ({"nhs_number": patient(), "cursor": "nonsense"}, "cursor"),
            ({"nhs_number": patient(), "cursor": encode_cursor(["a", "b"])}, "cursor"),  # well formed, not ours
            ({"nhs_number": patient(), "since": "1800-01-01T00:00:00Z"}, "since"),
            ({"nhs_number": patient(), "limit": 0}, "limit"),
        ):
            answer = await svc.client.post("/api/v1/audit/patient", json=body, headers=ig(stack))
            assert answer.status_code == 422, (body, answer.text)
            assert field in {e["field"] for e in answer.json()["errors"]}, answer.text
        in_url = await svc.client.post(
            "/api/v1/audit/patient", params={"nhs_number": patient()}, json={}, headers=ig(stack)
        )
        assert in_url.status_code == 422
        no_subject = await svc.client.get("/api/v1/audit/user", headers=ig(stack))
        assert no_subject.status_code == 422 and no_subject.json()["errors"][0]["field"] == "subject"


async def test_ifr_reads_and_changes_of_one_patient_then_pages_ranges_and_csv(stack: TestStack) -> None:
    nhs, other = patient(), patient()
    officer = f"officer-{uuid.uuid4().hex[:6]}"
    async with stack.service("ifr", database="audit_ifr", run_workers=False) as svc:
        client = svc.client
        started = datetime.now(UTC) - timedelta(seconds=1)
        ids = []
        for number in (nhs, other):
            ids.append(await submitted_case(client, stack, number))
        as_officer = stack.auth("X24", "ifr_officer", sub=officer)
        assert (await client.get(f"/api/v1/ifr/requests/{ids[0]}", headers=as_officer)).status_code == 200
        assert (await client.get(f"/api/v1/ifr/requests/{ids[1]}", headers=as_officer)).status_code == 200
        found = await client.post("/api/v1/ifr/requests/search", json={"nhs_number": nhs}, headers=as_officer)
        assert found.status_code == 200 and len(found.json()["items"]) == 1

        trail = await client.post("/api/v1/audit/patient", json={"nhs_number": nhs}, headers=ig(stack))
        assert trail.status_code == 200, trail.text
        page = trail.json()
        assert page["records"] == 1
        seen = [(e["actor"], e["action"], e["entity_type"], e["entity_id"]) for e in page["items"]]
        assert (officer, "read", "ifr_request", ids[0]) in seen
        assert (officer, "search", "ifr_requests", "nhs_number") in seen
        assert any(a == "create" and i == ids[0] for _, a, _, i in seen)
        assert all(i != ids[1] for *_, i in seen)  # the other patient's case is not in this trail
        assert all(e["service"] == "ifr" for e in page["items"])
        times = [e["at"] for e in page["items"]]
        assert times == sorted(times, reverse=True)  # newest first
        assert nhs not in trail.text

        # cursor pages: one row at a time, the same rows, none twice
        rows, cursor = [], None
        while True:
            got = await client.post(
                "/api/v1/audit/patient", json={"nhs_number": nhs, "limit": 1, "cursor": cursor}, headers=ig(stack)
            )
            rows += [e["id"] for e in got.json()["items"]]
            if not (cursor := got.json()["next_cursor"]):
                break
        assert rows == [e["id"] for e in page["items"]]
        # time range
        before = {"nhs_number": nhs, "until": started.isoformat()}
        assert (await client.post("/api/v1/audit/patient", json=before, headers=ig(stack))).json()["items"] == []
        since = {"nhs_number": nhs, "since": started.isoformat()}
        in_range = (await client.post("/api/v1/audit/patient", json=since, headers=ig(stack))).json()["items"]
        assert [e["id"] for e in in_range] == rows

        # CSV of the same, posted (no NHS number in a URL or in the file)
        exported = await client.post("/api/v1/audit/patient.csv", json={"nhs_number": nhs}, headers=ig(stack))
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(exported.text)))
        assert {(r["actor"], r["action"], r["entity_id"]) for r in table} >= {(officer, "read", ids[0])}
        assert nhs not in exported.text

        # what the officer looked at: both cases and the search, in a range, paged, as CSV
        user = await client.get("/api/v1/audit/user", params={"subject": officer}, headers=ig(stack))
        assert [(e["action"], e["entity_id"]) for e in user.json()["items"]] == [
            ("search", "nhs_number"),
            ("read", ids[1]),
            ("read", ids[0]),
        ]
        first = await client.get("/api/v1/audit/user", params={"subject": officer, "limit": 2}, headers=ig(stack))
        rest = await client.get(
            "/api/v1/audit/user",
            params={"subject": officer, "cursor": first.json()["next_cursor"]},
            headers=ig(stack),
        )
        assert [e["entity_id"] for e in rest.json()["items"]] == [ids[0]]
        later = datetime.now(UTC).isoformat()
        none = await client.get("/api/v1/audit/user", params={"subject": officer, "since": later}, headers=ig(stack))
        assert none.json()["items"] == []
        user_csv = await client.get("/api/v1/audit/user.csv", params={"subject": officer}, headers=ig(stack))
        assert len(list(csv.DictReader(io.StringIO(user_csv.text)))) == 3

        # every look at the trail was audited, under the IG lead's name, without the NHS number
        looks = await client.get("/api/v1/audit/user", params={"subject": IG, "limit": 500}, headers=ig(stack))
        actions = {e["action"] for e in looks.json()["items"]}
        assert {"audit.patient", "audit.patient.export", "audit.user", "audit.user.export"} <= actions
        assert nhs not in looks.text
        patient_look = next(e for e in looks.json()["items"] if e["action"] == "audit.patient")
        assert patient_look["detail"]["records"] == {"ifr_request": [ids[0]]}


async def test_cdf_application_reads_are_found_by_patient(stack: TestStack) -> None:
    nhs = patient()
    manager = f"cdf-manager-{uuid.uuid4().hex[:6]}"
    async with stack.service("cdf", database="audit_cdf", run_workers=False) as svc:
        await prepare_cdf(svc.client, stack)
        applied = await svc.client.post(
            "/api/v1/cdf/applications",
            json={**APPLICATION, "nhs_number": nhs},
            headers={**stack.auth("RRV", "clinician"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert applied.status_code == 201, applied.text
        app_id = applied.json()["id"]
        as_manager = stack.auth("X24", "cdf_manager", sub=manager)
        assert (await svc.client.get(f"/api/v1/cdf/applications/{app_id}", headers=as_manager)).status_code == 200
        listed = await svc.client.get("/api/v1/cdf/applications", params={"limit": 500}, headers=as_manager)
        assert app_id in {a["id"] for a in listed.json()["items"]}
        trail = await svc.client.post("/api/v1/audit/patient", json={"nhs_number": nhs}, headers=ig(stack))
        seen = {(e["actor"], e["action"], e["entity_id"]) for e in trail.json()["items"]}
        assert {(manager, "read", app_id), (manager, "list", "*")} <= seen, seen
        assert any(action == "create" and entity == app_id for _, action, entity in seen)
        assert trail.json()["records"] == 1


async def test_notification_reads_are_found_by_the_patient_their_event_named(stack: TestStack) -> None:
    nhs = patient()
    operator = f"officer-{uuid.uuid4().hex[:6]}"
    async with stack.service("notification", database="audit_notification", run_workers=False) as svc:
        key = svc.settings.patient_ref_key.get_secret_value()
        mail_id = uuid.uuid4()
        async with svc.runtime.sessions() as session, session.begin():
            await session.execute(
                insert(Notification).values(
                    id=mail_id,
                    source_event_id=uuid.uuid4(),
                    source_event_type="cdf.application.approved",
                    template="cdf_approved",
                    recipient="a.oncologist@nhs.net",
                    subject="[secure] CDF approval",
                    body_text="approved",
                    body_html="<p>approved</p>",
                    message_id=f"<{mail_id}@test>",
                    patient_ref=patient_ref(nhs, key),
                )
            )
        as_operator = stack.auth("X24", "ifr_officer", sub=operator)  # mail_operator reads come with item 4
        read = await svc.client.get(f"/api/v1/notifications/{mail_id}", headers=as_operator)
        assert read.status_code == 200, read.text
        trail = await svc.client.post("/api/v1/audit/patient", json={"nhs_number": nhs}, headers=ig(stack))
        assert trail.json()["records"] == 1
        assert (operator, "read", str(mail_id)) in {
            (e["actor"], e["action"], e["entity_id"]) for e in trail.json()["items"]
        }
