"""The notifications API: filters, cursor pagination, CSV, who sees what, and the audit of reads."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from notification_helpers import FAST, database, publish_events, rows
from sqlalchemy import select

from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.models import Notification

STAFF = ("X24", "contract_manager")


def acknowledged(reference: str, provider: str, clinician: str) -> tuple[str, str, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    data = {
        "request_id": request_id,
        "reference": reference,
        "provider_ods": provider,
        "state": "acknowledged",
        "urgent": False,
        "clinician_email": clinician,
    }
    return "ifr.request.acknowledged", request_id, data


@pytest.fixture(scope="module")
async def seeded(stack: TestStack) -> AsyncIterator[tuple[RunningService, str]]:
    """Three RRV (one at site RRV03) and two RGT acknowledgements, all sent."""
    run = uuid.uuid4().hex[:6].upper()
    events = [
        acknowledged(f"IFR-{run}-1", "RRV", "Dr.One@nhs.net"),
        acknowledged(f"IFR-{run}-2", "RRV03", "dr.two@nhs.net"),
        acknowledged(f"IFR-{run}-3", "RRV", "dr.three@nhs.net"),
        acknowledged(f"IFR-{run}-4", "RGT", "dr.four@nhs.net"),
        acknowledged(f"IFR-{run}-5", "RGT", "dr.five@nhs.net"),
    ]
    async with stack.service("notification", database=database(f"api_{run.lower()}"), **FAST) as svc:
        await publish_events(stack, events)

        async def all_sent() -> bool:
            found = await rows(svc, Notification.case_reference.startswith(f"IFR-{run}-"))
            return len(found) == 5 and all(n.status == "sent" for n in found)

        await eventually(all_sent)
        yield svc, run


async def listed(svc: RunningService, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await svc.client.get("/api/v1/notifications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_filters(stack: TestStack, seeded: tuple[RunningService, str]) -> None:
    svc, run = seeded
    staff = stack.auth(*STAFF)
    by_case = await listed(svc, staff, case_reference=f"IFR-{run}-2")
    assert [(n["recipient"], n["provider_ods"]) for n in by_case] == [("dr.two@nhs.net", "RRV03")]
    # recipient matches whatever the case
    assert [n["case_reference"] for n in await listed(svc, staff, recipient="DR.ONE@NHS.NET")] == [f"IFR-{run}-1"]
    rgt = await listed(svc, staff, provider_ods="rgt", template="ifr_request_acknowledged", status="sent")
    assert sorted(n["case_reference"] for n in rgt) == [f"IFR-{run}-4", f"IFR-{run}-5"]
    by_type = await listed(svc, staff, source_event_type="ifr.request.acknowledged", limit=500)
    assert len(by_type) == 5
    assert await listed(svc, staff, status="failed") == []
    bad = await svc.client.get("/api/v1/notifications", params={"status": "lost"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    bad_cursor = await svc.client.get("/api/v1/notifications", params={"cursor": "nonsense"}, headers=staff)
    assert bad_cursor.status_code == 422


async def test_cursor_pagination_visits_every_notification_once(
    stack: TestStack, seeded: tuple[RunningService, str]
) -> None:
    svc, _ = seeded
    staff = stack.auth(*STAFF)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await svc.client.get("/api/v1/notifications", params=params, headers=staff)).json()
        assert len(page["items"]) <= 2
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_a_trust_sees_only_its_own_organisation(stack: TestStack, seeded: tuple[RunningService, str]) -> None:
    svc, run = seeded
    trust = stack.auth("RRV", "trust_cdf_lead")
    mine = await listed(svc, trust, limit=500)
    assert sorted(n["case_reference"] for n in mine) == [f"IFR-{run}-1", f"IFR-{run}-2", f"IFR-{run}-3"]
    # asking for another organisation's list gives nothing, and one of its notifications is "not found"
    assert await listed(svc, trust, provider_ods="RGT") == []
    (theirs,) = await listed(svc, stack.auth(*STAFF), case_reference=f"IFR-{run}-4")
    assert (await svc.client.get(f"/api/v1/notifications/{theirs['id']}", headers=trust)).status_code == 404
    own = await svc.client.get(f"/api/v1/notifications/{mine[0]['id']}", headers=trust)
    assert own.status_code == 200 and own.json()["body_text"] and own.headers["ETag"]
    # a provider system or an unauthenticated caller gets nothing at all
    assert (
        await svc.client.get("/api/v1/notifications", headers=stack.auth("RRV", "provider_system"))
    ).status_code == 403
    assert (await svc.client.get("/api/v1/notifications")).status_code == 401


async def test_reads_are_audited(stack: TestStack, seeded: tuple[RunningService, str]) -> None:
    svc, run = seeded
    reader = f"auditor-{uuid.uuid4().hex[:6]}"
    headers = stack.auth(*STAFF, sub=reader)
    (one,) = await listed(svc, headers, case_reference=f"IFR-{run}-3")
    await svc.client.get(f"/api/v1/notifications/{one['id']}", headers=headers)
    audit = svc.runtime.tables.audit
    async with svc.runtime.sessions() as session:
        records = (await session.execute(select(audit).where(audit.c.actor == reader).order_by(audit.c.id))).all()
    assert [(r.action, r.entity_type) for r in records] == [("list", "notification"), ("read", "notification")]
    assert records[0].detail["ids"] == [one["id"]]
    assert records[0].detail["filters"] == {"case_reference": f"IFR-{run}-3"}
    assert records[1].entity_id == one["id"] and records[1].actor_org == "X24"


async def test_csv_export(stack: TestStack, seeded: tuple[RunningService, str]) -> None:
    svc, run = seeded
    response = await svc.client.get(
        "/api/v1/notifications.csv", params={"provider_ods": "RGT"}, headers=stack.auth(*STAFF)
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["case_reference"] for r in table if r["case_reference"].startswith(f"IFR-{run}")) == [
        f"IFR-{run}-4",
        f"IFR-{run}-5",
    ]
    assert {r["status"] for r in table} == {"sent"}
