"""Prior approval over HTTP against the real database: decided in the same request, duplicates, withdrawal."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta

import pytest
from cdf_helpers import PLANNED, application_body, confirmed_clinician, entry, load_seed_list, next_patient_index
from sqlalchemy import insert, literal, select, text

from casework.idempotency import fingerprint
from casework.identifiers import patient_ref
from cdf_service.api.applications import ApplicationIn
from cdf_service.db.models import Application
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.use_cases.lapse import lapse_overdue
from embedded_stack.testing import TestStack, eventually

pytestmark = pytest.mark.integration
TRUST = "RGT"
PEMBRO = "CDF-PEMBRO-NSCLC-1L"


async def _events(svc, application_id: str) -> list[str]:
    async with svc.runtime.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT event_type FROM outbox_events WHERE message_key = :k ORDER BY id"), {"k": application_id}
        )
        return [r[0] for r in rows]


async def test_all_criteria_met_is_approved_in_the_same_request(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        created = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["status"] == "approved" and app["decision"] == {
            "approved": True,
            "unmet_criteria": [],
            "reasons": [],
        }
        assert app["entry_version"] == listed["version"]
        assert app["expected_cost"] == str(listed["expected_cost"])
        assert app["lapse_due"] == (PLANNED + timedelta(days=28)).isoformat()
        assert created.headers["ETag"] == 'W/"1"'
        assert await _events(svc, app["id"]) == ["cdf.application.approved"]


async def test_one_unmet_criterion_is_rejected_naming_it(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc, C2=False, C9=False)
        created = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["status"] == "rejected"
        # C9 is optional: answering no does not reject; only the mandatory C2 is named.
        assert app["decision"]["unmet_criteria"] == ["C2"]
        assert app["decision"]["reasons"] == ["criterion C2 (PD-L1 tumour proportion score of 50% or more) is not met"]
        assert await _events(svc, app["id"]) == ["cdf.application.rejected"]


async def test_closed_entry_is_rejected(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, "CDF-NIVO-NSCLC-SQ")
        assert listed["status"] == "closed" and listed["version"] == 2
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        created = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert created.status_code == 201
        assert created.json()["status"] == "rejected"
        assert created.json()["decision"]["reasons"] == ["list entry CDF-NIVO-NSCLC-SQ is closed to new applications"]


async def test_duplicate_live_approval_is_409_with_the_existing_id(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        nhs = nhs_number_for(next_patient_index())
        headers = stack.auth(TRUST, "clinician")
        first = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, nhs, TRUST, gmc), headers=headers
        )
        assert first.status_code == 201 and first.json()["status"] == "approved"
        # the same patient, printed differently, from another clinician: still the same patient_ref
        other_gmc = await confirmed_clinician(svc.client, stack, TRUST)
        spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
        second = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, spaced, TRUST, other_gmc), headers=headers
        )
        assert second.status_code == 409, second.text
        assert second.json()["existing_id"] == first.json()["id"]
        # after withdrawal the patient may be approved again
        withdrawn = await svc.client.post(
            f"/api/v1/cdf/applications/{first.json()['id']}/withdraw",
            json={"reason": "patient moved to another trust"},
            headers={**headers, "If-Match": first.headers["ETag"]},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "withdrawn" and withdrawn.headers["ETag"] == 'W/"2"'
        third = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, nhs, TRUST, gmc), headers=headers
        )
        assert third.status_code == 201 and third.json()["status"] == "approved"
        assert await _events(svc, first.json()["id"]) == ["cdf.application.approved", "cdf.application.withdrawn"]


async def test_approval_is_written_with_its_event_audit_row_forecast_mark_and_idempotency_record(
    stack: TestStack,
) -> None:
    # workers off: the forecaster, woken by the commit, would otherwise take the mark at once
    async with stack.service("cdf", lapse_sweep_interval_s=0, run_workers=False) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        sub, key = f"dr-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}"
        headers = {**stack.auth(TRUST, "clinician", sub=sub), "Idempotency-Key": key}
        created = await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        async with svc.runtime.unit_of_work() as uow:
            audit = (
                await uow.session.execute(
                    text("SELECT actor, action, detail FROM audit_events WHERE entity_id = :id"), {"id": app_id}
                )
            ).all()
            stored = (
                await uow.session.execute(
                    text("SELECT status_code, response FROM idempotency_keys WHERE principal = :p AND key = :k"),
                    {"p": sub, "k": key},
                )
            ).one()
            marks = await uow.session.scalar(
                text("SELECT count(*) FROM forecast_dirty WHERE provider_ods = :t AND entry_id = :e"),
                {"t": TRUST, "e": PEMBRO},
            )
        assert [(a.actor, a.action, a.detail) for a in audit] == [(sub, "create", {"status": "approved"})]
        assert stored.status_code == 201 and stored.response == created.json()
        assert marks >= 1
        assert await _events(svc, app_id) == ["cdf.application.approved"]


async def _blocked_on_a_lock(svc) -> bool:
    async with svc.runtime.unit_of_work() as uow:
        waiting = await uow.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def _writes_for_patient(svc, ref: str) -> tuple[int, int]:
    async with svc.runtime.unit_of_work() as uow:
        apps = await uow.session.scalar(
            select(text("count(*)")).select_from(Application).where(Application.patient_ref == ref)
        )
        events = await uow.session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE envelope -> 'data' ->> 'patient_ref' = :r"), {"r": ref}
        )
    return int(apps or 0), int(events or 0)


async def test_twin_approved_while_the_request_decides_is_a_409_and_nothing_is_written(stack: TestStack) -> None:
    """The request reads no live approval, then a twin commits first: the unique index turns the
    request's write into a 409 naming the twin, with no row, event or audit of its own."""
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        clinician = stack.auth(TRUST, "clinician")
        template = await svc.client.post(
            "/api/v1/cdf/applications",
            json=application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc),
            headers=clinician,
        )
        nhs = nhs_number_for(next_patient_index())
        ref = patient_ref(nhs, svc.runtime.settings.patient_ref_key.get_secret_value())
        twin_id = uuid.uuid4()
        table = Application.__table__
        copied = {"id": twin_id, "reference": f"CDF-T{twin_id.hex[:9].upper()}", "patient_ref": ref, "nhs_number": nhs}
        columns = [c.key for c in table.columns]
        twin = insert(table).from_select(
            columns,
            select(*[literal(copied[c], table.c[c].type) if c in copied else table.c[c] for c in columns]).where(
                table.c.id == template.json()["id"]
            ),
        )
        async with svc.runtime.engine.connect() as held:
            await held.execute(twin)  # not committed yet: the request cannot see it
            sub = f"dr-{uuid.uuid4().hex[:8]}"
            request = asyncio.create_task(
                svc.client.post(
                    "/api/v1/cdf/applications",
                    json=application_body(listed, nhs, TRUST, gmc),
                    headers=stack.auth(TRUST, "clinician", sub=sub),
                )
            )
            await eventually(lambda: _blocked_on_a_lock(svc), within=10)
            await held.commit()
        answer = await request
        assert answer.status_code == 409, answer.text
        assert answer.json()["existing_id"] == str(twin_id)
        assert await _writes_for_patient(svc, ref) == (1, 0)  # the twin only (inserted without an event)
        async with svc.runtime.unit_of_work() as uow:
            audited = await uow.session.scalar(text("SELECT count(*) FROM audit_events WHERE actor = :s"), {"s": sub})
        assert audited == 0


@pytest.mark.parametrize("same_request", [True, False])
async def test_same_idempotency_key_in_flight_waits_and_answers_the_first_and_nothing_is_written(
    stack: TestStack, same_request: bool
) -> None:
    """The first request with the key is still deciding (its record inserted, not committed): the second
    waits for it and answers its response (or 422 when the key was used for a different request)."""
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        nhs = nhs_number_for(next_patient_index())
        ref = patient_ref(nhs, svc.runtime.settings.patient_ref_key.get_secret_value())
        sub, key = f"dr-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}"
        keys = svc.runtime.tables.idempotency
        body = application_body(listed, nhs, TRUST, gmc)
        first = {
            "principal": sub,
            "key": key,
            "method": "POST",
            "path": "/api/v1/cdf/applications",
            "request_hash": fingerprint(ApplicationIn.model_validate(body)) if same_request else "0" * 64,
            "status_code": 201,
            "response": {"reference": "CDF-FIRST"},
        }
        async with svc.runtime.engine.connect() as held:
            await held.execute(insert(keys).values(first))  # the first request with this key, still deciding
            request = asyncio.create_task(
                svc.client.post(
                    "/api/v1/cdf/applications",
                    json=body,
                    headers={**stack.auth(TRUST, "clinician", sub=sub), "Idempotency-Key": key},
                )
            )
            await eventually(lambda: _blocked_on_a_lock(svc), within=10)
            await held.commit()
        answer = await request
        if same_request:
            assert answer.status_code == 201, answer.text
            assert answer.json() == {"reference": "CDF-FIRST"} and answer.headers["idempotent-replayed"] == "true"
        else:
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await _writes_for_patient(svc, ref) == (0, 0)


async def test_only_confirmed_clinicians_may_apply(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        listed = await entry(svc.client, stack, PEMBRO)
        headers = stack.auth(TRUST, "clinician")
        nhs = nhs_number_for(next_patient_index())
        unknown = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, nhs, TRUST, "7654321"), headers=headers
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"] == [
            {"field": "clinician_gmc", "message": f"is not registered with the CDF at {TRUST}"}
        ]
        pending = await confirmed_clinician(svc.client, stack, TRUST, confirm=False)
        refused = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, nhs, TRUST, pending), headers=headers
        )
        assert refused.status_code == 403
        assert "awaits confirmation by the trust's CDF lead" in refused.json()["detail"]
        # a clinician registered at another trust is not registered here
        elsewhere = await confirmed_clinician(svc.client, stack, "RRV")
        other = await svc.client.post(
            "/api/v1/cdf/applications", json=application_body(listed, nhs, TRUST, elsewhere), headers=headers
        )
        assert other.status_code == 422
        async with svc.runtime.unit_of_work() as uow:
            made = await uow.session.scalar(select(Application.id).where(Application.nhs_number == nhs))
        assert made is None


async def test_clinician_registration_rules(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        body = {"trust_ods": TRUST, "gmc_number": "1234560", "name": "Dr A", "email": "dr.a@gmail.com"}
        bad_mail = await svc.client.post("/api/v1/cdf/clinicians", json=body, headers=stack.auth(TRUST, "clinician"))
        assert bad_mail.status_code == 422 and bad_mail.json()["errors"][0]["field"] == "email"
        body["email"] = "dr.a@nhs.net.evil.com"
        assert (
            await svc.client.post("/api/v1/cdf/clinicians", json=body, headers=stack.auth(TRUST, "clinician"))
        ).status_code == 422
        body["email"] = "dr.a@nhs.net"
        other_trust = await svc.client.post("/api/v1/cdf/clinicians", json=body, headers=stack.auth("RRV", "clinician"))
        assert other_trust.status_code == 404
        gmc = await confirmed_clinician(svc.client, stack, TRUST, confirm=False)
        listed = await svc.client.get(
            "/api/v1/cdf/clinicians", params={"gmc": gmc}, headers=stack.auth(TRUST, "trust_cdf_lead")
        )
        [registration] = listed.json()["items"]
        assert registration["status"] == "pending" and registration["allowed_actions"] == ["confirm", "decline"]
        # another trust's CDF lead cannot see it, let alone confirm it
        foreign = await svc.client.post(
            f"/api/v1/cdf/clinicians/{registration['id']}/confirm",
            headers={**stack.auth("RRV", "trust_cdf_lead"), "If-Match": 'W/"1"'},
        )
        assert foreign.status_code == 404
        no_match = await svc.client.post(
            f"/api/v1/cdf/clinicians/{registration['id']}/confirm", headers=stack.auth(TRUST, "trust_cdf_lead")
        )
        assert no_match.status_code == 428
        clinician_self = await svc.client.post(
            f"/api/v1/cdf/clinicians/{registration['id']}/confirm",
            headers={**stack.auth(TRUST, "clinician"), "If-Match": 'W/"1"'},
        )
        assert clinician_self.status_code == 403
        revoke_pending = await svc.client.post(
            f"/api/v1/cdf/clinicians/{registration['id']}/revoke",
            headers={**stack.auth(TRUST, "trust_cdf_lead"), "If-Match": 'W/"1"'},
        )
        assert revoke_pending.status_code == 409 and revoke_pending.json()["allowed_actions"] == ["confirm", "decline"]


async def test_every_criterion_needs_an_answer_and_unknown_ones_are_refused(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        del body["answers"]["C3"]
        body["answers"]["C42"] = True
        response = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert response.status_code == 422
        assert sorted(e["field"] for e in response.json()["errors"]) == ["answers.C3", "answers.C42"]
        body["answers"] = {c["code"]: True for c in listed["criteria"]}
        body["nhs_number"] = "9990000019"  # check digit wrong
        bad_nhs = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert bad_nhs.status_code == 422 and bad_nhs.json()["errors"][0]["field"] == "nhs_number"
        body["nhs_number"] = nhs_number_for(next_patient_index())
        body["entry_id"] = "CDF-NOT-LISTED"
        unlisted = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert unlisted.status_code == 422 and unlisted.json()["errors"][0]["field"] == "entry_id"


async def test_idempotency_key_replays_the_first_result(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = await entry(svc.client, stack, PEMBRO)
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc)
        headers = {**stack.auth(TRUST, "clinician", sub="dr-idem"), "Idempotency-Key": "abc-123"}
        first = await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)
        again = await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        body["consent_confirmed"] = False
        changed = await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)
        assert changed.status_code == 422


async def test_provider_users_see_only_their_trust_and_every_read_is_audited(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, "RTH")
        listed = await entry(svc.client, stack, "CDF-OLAP-OV-MAINT")
        body = application_body(listed, nhs_number_for(next_patient_index()), "RTH", gmc)
        created = (
            await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth("RTH", "clinician"))
        ).json()
        other = await svc.client.get(
            f"/api/v1/cdf/applications/{created['id']}", headers=stack.auth("RGT", "clinician")
        )
        assert other.status_code == 404
        reader = stack.auth("RTH", "trust_pharmacist", sub="pharm-rth")
        mine = await svc.client.get(f"/api/v1/cdf/applications/{created['id']}", headers=reader)
        assert mine.status_code == 200 and mine.json()["nhs_number"] == body["nhs_number"]
        listed_rgt = await svc.client.get(
            "/api/v1/cdf/applications", params={"entry_id": "CDF-OLAP-OV-MAINT"}, headers=stack.auth("RGT", "clinician")
        )
        assert created["id"] not in [a["id"] for a in listed_rgt.json()["items"]]
        manager = stack.auth("X24", "cdf_manager")
        by_patient = await svc.client.post(
            "/api/v1/cdf/applications/search", json={"nhs_number": body["nhs_number"]}, headers=manager
        )
        assert [a["id"] for a in by_patient.json()["items"]] == [created["id"]]
        by_reference = await svc.client.post(
            "/api/v1/cdf/applications/search", json={"reference": created["reference"].lower()}, headers=manager
        )
        assert [a["id"] for a in by_reference.json()["items"]] == [created["id"]]
        rgt_search = await svc.client.post(
            "/api/v1/cdf/applications/search",
            json={"nhs_number": body["nhs_number"]},
            headers=stack.auth("RGT", "clinician"),
        )
        assert rgt_search.status_code == 200 and rgt_search.json()["items"] == []  # another trust's patient
        in_url = await svc.client.get(
            "/api/v1/cdf/applications", params={"nhs_number": body["nhs_number"]}, headers=manager
        )
        assert in_url.status_code == 422 and in_url.json()["errors"][0]["field"] == "nhs_number"
        for bad in ({}, {"nhs_number": body["nhs_number"], "reference": created["reference"]}, {"nhs_number": "1"}):
            refused = await svc.client.post("/api/v1/cdf/applications/search", json=bad, headers=manager)
            assert refused.status_code == 422, bad
        async with svc.runtime.unit_of_work() as uow:
            audit = (
                await uow.session.execute(
                    text("SELECT actor, action FROM audit_events WHERE entity_id = :id ORDER BY id"),
                    {"id": created["id"]},
                )
            ).all()
            listing = await uow.session.scalar(
                text(
                    "SELECT detail FROM audit_events WHERE action = 'search' AND detail::text LIKE :id ORDER BY id DESC"
                ),
                {"id": f"%{created['id']}%"},
            )
        assert [a for _, a in audit] == ["create", "read"] and audit[1][0] == "pharm-rth"
        assert created["id"] in json.dumps(listing)


async def test_list_pages_with_a_cursor_and_filters(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, "RM1")
        listed = await entry(svc.client, stack, "CDF-TDXD-BC-HER2")
        made = []
        for _ in range(5):
            body = application_body(listed, nhs_number_for(next_patient_index()), "RM1", gmc)
            made.append(
                (
                    await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth("RM1", "clinician"))
                ).json()["id"]
            )
        seen: list[str] = []
        cursor = None
        while True:
            params = {"clinician_gmc": gmc, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (
                await svc.client.get("/api/v1/cdf/applications", params=params, headers=stack.auth("RM1", "clinician"))
            ).json()
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == made
        csv = await svc.client.get(
            "/api/v1/cdf/applications.csv", params={"clinician_gmc": gmc}, headers=stack.auth("RM1", "clinician")
        )
        assert csv.status_code == 200 and csv.text.count("\n") == 6 and body["nhs_number"] not in csv.text


async def test_lapse_sweep_lapses_once_and_only_past_the_window(stack: TestStack) -> None:
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, "RWE")
        listed = await entry(svc.client, stack, "CDF-AVEL-MCC")
        planned = date.today() - timedelta(days=10)
        headers = stack.auth("RWE", "clinician")
        body = application_body(listed, nhs_number_for(next_patient_index()), "RWE", gmc, planned=planned)
        app = (await svc.client.post("/api/v1/cdf/applications", json=body, headers=headers)).json()
        assert app["status"] == "approved"
        due = date.fromisoformat(app["lapse_due"])
        assert await lapse_overdue(svc.runtime, today=due, provider_ods="RWE") == 0  # the due day is still inside
        assert await lapse_overdue(svc.runtime, today=due + timedelta(days=1), provider_ods="RWE") == 1
        assert await lapse_overdue(svc.runtime, today=due + timedelta(days=2), provider_ods="RWE") == 0
        read = (await svc.client.get(f"/api/v1/cdf/applications/{app['id']}", headers=headers)).json()
        assert read["status"] == "lapsed" and read["allowed_actions"] == []
        assert await _events(svc, app["id"]) == ["cdf.application.approved", "cdf.approval.lapsed"]
        withdraw = await svc.client.post(
            f"/api/v1/cdf/applications/{app['id']}/withdraw",
            json={"reason": "x"},
            headers={**headers, "If-Match": 'W/"2"'},
        )
        assert withdraw.status_code == 409 and withdraw.json()["current_state"] == "lapsed"
