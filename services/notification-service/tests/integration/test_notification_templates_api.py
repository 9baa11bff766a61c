"""Templates through the API: list, read, versioned edits (checked), preview; routing uses the latest."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from notification_helpers import FAST, database, publish_events, rows

from embedded_stack.testing import RunningService, TestStack, eventually
from notification_service.db.models import Notification

STAFF = ("X24", "ifr_officer")
ADMIN = ("X24", "admin")
NAME = "ifr_request_acknowledged"


@pytest.fixture(scope="module")
async def svc(stack: TestStack) -> AsyncIterator[RunningService]:
    async with stack.service("notification", database=database(f"templates_{uuid.uuid4().hex[:6]}"), **FAST) as s:
        yield s


def edit(
    subject: str = "IFR {{ reference }}: received, thank you", text: str = "Received {{ reference }}: {{ link }}"
) -> dict:
    return {"subject": subject, "text": text, "html": "<p>Received {{ reference }}: <a href='{{ link }}'>open</a></p>"}


async def test_list_and_read_packaged_templates(stack: TestStack, svc: RunningService) -> None:
    listed = await svc.client.get("/api/v1/templates", headers=stack.auth(*STAFF))
    assert listed.status_code == 200
    by_name = {t["name"]: t for t in listed.json()}
    assert by_name["cdf_application_approved"]["routed_events"] == ["cdf.application.approved"]
    assert by_name["mail_acknowledgement"]["gateway_reply"] is True
    assert by_name["cdf_application_approved"]["origin"] == "packaged"
    one = await svc.client.get("/api/v1/templates/cdf_application_approved", headers=stack.auth(*STAFF))
    assert (one.status_code, one.headers["ETag"]) == (200, 'W/"1"')
    assert "{{ reference }}" in one.json()["subject"]
    assert (await svc.client.get("/api/v1/templates/no_such_thing", headers=stack.auth(*STAFF))).status_code == 404
    assert (await svc.client.get("/api/v1/templates/Bad-Name", headers=stack.auth(*STAFF))).status_code == 422
    assert (await svc.client.get("/api/v1/templates", headers=stack.auth("RRV", "clinician"))).status_code == 403


async def test_an_edit_is_checked_then_stored_as_a_new_version_that_routing_uses(
    stack: TestStack, svc: RunningService
) -> None:
    path = f"/api/v1/templates/{NAME}"
    admin = stack.auth(*ADMIN)
    assert (await svc.client.put(path, json=edit(), headers=admin)).status_code == 428
    not_admin = await svc.client.put(path, json=edit(), headers={**stack.auth(*STAFF), "If-Match": 'W/"1"'})
    assert not_admin.status_code == 403

    identifier = await svc.client.put(
        path, json=edit(subject="IFR {{ reference }} for {{ nhs_number }}"), headers={**admin, "If-Match": 'W/"1"'}
    )
    assert identifier.status_code == 422
    assert identifier.json()["errors"][0]["field"] == "subject"
    assert "patient identifier" in identifier.json()["detail"]
    broken = await svc.client.put(path, json=edit(text="{% if %}"), headers={**admin, "If-Match": 'W/"1"'})
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "text"
    unknown = await svc.client.put(path, json=edit(text="{{ no_such_field }}"), headers={**admin, "If-Match": 'W/"1"'})
    assert unknown.status_code == 422 and "no_such_field" in unknown.json()["detail"]
    dated = await svc.client.put(
        path, json=edit(subject="IFR {{ reference }} due {{ screening_due }}"), headers={**admin, "If-Match": 'W/"1"'}
    )
    assert dated.status_code == 422 and "date" in dated.json()["detail"]

    stored = await svc.client.put(path, json=edit(), headers={**admin, "If-Match": 'W/"1"'})
    assert stored.status_code == 200, stored.text
    assert (stored.json()["version"], stored.json()["origin"], stored.headers["ETag"]) == (2, "stored", 'W/"2"')
    stale = await svc.client.put(path, json=edit(), headers={**admin, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    first = await svc.client.get(path, params={"version": 1}, headers=stack.auth(*STAFF))
    assert first.json()["origin"] == "packaged" and first.json()["latest_version"] == 2

    preview = await svc.client.post(f"{path}/preview", headers=stack.auth(*STAFF))
    assert preview.status_code == 200
    assert preview.json()["subject"] == "IFR IFR-2026-000456: received, thank you"  # the sample data
    older = await svc.client.post(f"{path}/preview", json={"version": 1}, headers=stack.auth(*STAFF))
    assert older.json()["version"] == 1 and older.json()["subject"] != preview.json()["subject"]
    given = await svc.client.post(
        f"{path}/preview", json={"context": {"reference": "IFR-X", "link": "https://x/"}}, headers=stack.auth(*STAFF)
    )
    assert given.json()["subject"] == "IFR IFR-X: received, thank you"
    missing = await svc.client.post(
        f"{path}/preview", json={"context": {"reference": "IFR-X"}}, headers=stack.auth(*STAFF)
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "context"
    assert "link" in missing.json()["detail"]

    # new mail uses the latest version
    request_id = str(uuid.uuid4())
    data = {
        "request_id": request_id,
        "reference": f"IFR-T-{request_id[:6]}",
        "provider_ods": "RRV",
        "state": "acknowledged",
        "urgent": False,
        "clinician_email": "dr.template@nhs.net",
    }
    (event_id,) = await publish_events(stack, [("ifr.request.acknowledged", request_id, data)])

    async def queued() -> list[Notification]:
        return await rows(svc, Notification.source_event_id == event_id)

    (notification,) = await eventually(queued)
    assert notification.template_version == 2
    assert notification.subject == f"IFR {data['reference']}: received, thank you"


async def test_a_mail_operator_stores_a_version_and_a_clinician_may_not(stack: TestStack, svc: RunningService) -> None:
    path = "/api/v1/templates/cdf_application_approved"
    latest = (await svc.client.get(path, headers=stack.auth("X24", "mail_operator"))).headers["ETag"]
    body = {
        "subject": "CDF application {{ reference }}: approved for funding",
        "text": "Approved: {{ reference }} {{ link }}",
        "html": "<p>Approved: {{ reference }} <a href='{{ link }}'>open</a></p>",
    }
    clinician = await svc.client.put(path, json=body, headers={**stack.auth("RRV", "clinician"), "If-Match": latest})
    assert clinician.status_code == 403
    nhs = body | {"subject": "CDF {{ reference }} for {{ patient.nhs_number }}"}
    refused = await svc.client.put(path, json=nhs, headers={**stack.auth("X24", "mail_operator"), "If-Match": latest})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "subject"
    stored = await svc.client.put(path, json=body, headers={**stack.auth("X24", "mail_operator"), "If-Match": latest})
    assert stored.status_code == 200, stored.text
    assert stored.json()["created_by"] and stored.json()["version"] == int(latest.strip('W/"')) + 1


async def test_a_new_template_needs_sample_data(stack: TestStack, svc: RunningService) -> None:
    path = "/api/v1/templates/ifr_custom_notice"
    admin = stack.auth(*ADMIN)
    without = await svc.client.put(path, json=edit(), headers=admin)
    assert without.status_code == 422 and without.json()["errors"][0]["field"] == "sample"
    body = edit() | {"sample": {"reference": "IFR-1", "link": "https://x/"}}
    created = await svc.client.put(path, json=body, headers=admin)
    assert created.status_code == 200, created.text
    assert (created.json()["version"], created.json()["origin"]) == (1, "stored")
    preview = await svc.client.post(f"{path}/preview", headers=stack.auth(*STAFF))
    assert preview.json()["subject"] == "IFR IFR-1: received, thank you"
