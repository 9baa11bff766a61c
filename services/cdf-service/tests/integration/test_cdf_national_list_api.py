"""The national list's admin API against the real database: an entry made, a price change as a new
version from a day, closure to new applications, and the optimistic-concurrency rules on both."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from cdf_helpers import application_body, confirmed_clinician, load_seed_list, next_patient_index

from cdf_service.synthetic.people import nhs_number_for
from cdf_service.use_cases.list_loader import SEED_LIST
from embedded_stack.testing import TestStack

pytestmark = pytest.mark.integration
TRUST = "RTH"
TODAY = date.today()


def new_entry() -> dict:
    return {
        "entry_id": f"CDF-TEST-{uuid.uuid4().hex[:8].upper()}",
        "drug_name": "Examplimab",
        "dmd_id": "4242421000001106",
        "indication": "Relapsed example carcinoma after one prior line",
        "regimen": "Examplimab 200 mg IV every 21 days",
        "criteria": [{"code": "C1", "text": "Relapsed after one prior line"}],
        "cost_per_cycle": "1000.00",
        "cycle_length_days": 21,
        "expected_cycles": 6,
        "managed_access_start": "2025-01-01",
        "effective_from": "2025-01-01",
        "change_note": "entered for a test",
    }


async def test_versions_and_closure_through_the_api(stack: TestStack) -> None:
    admin = stack.auth("X24", "cdf_manager")
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        made = await svc.client.post("/api/v1/cdf/list", json=new_entry(), headers=admin)
        assert made.status_code == 201, made.text
        entry_id, path = made.json()["entry_id"], f"/api/v1/cdf/list/{made.json()['entry_id']}"
        assert made.headers["ETag"] == 'W/"1"'
        # a dm+d id names one drug: SACT rows are resolved to their drug by it
        clash = {**new_entry(), "drug_name": "Otherumab"}
        other_name = await svc.client.post("/api/v1/cdf/list", json=clash, headers=admin)
        assert other_name.status_code == 422 and other_name.json()["errors"][0]["field"] == "dmd_id", other_name.text
        borrowed = await svc.client.post(
            f"{path}/versions",
            json={"effective_from": str(TODAY + timedelta(days=5)), "other_dmd_ids": ["155722341000001108"]},
            headers={**admin, "If-Match": 'W/"1"'},
        )
        assert borrowed.status_code == 422 and borrowed.json()["errors"][0]["field"] == "other_dmd_ids", borrowed.text
        header, pembro = SEED_LIST.read_text(encoding="utf-8").splitlines()[:2]
        renamed = pembro.replace("CDF-PEMBRO-NSCLC-1L,Pembrolizumab,", "CDF-OTHER-1,Otherumab,", 1)
        imported = await svc.client.post(
            "/api/v1/cdf/list/import",
            content=f"{header}\n{renamed}\n".encode(),
            headers={**admin, "Content-Type": "text/csv"},
        )
        assert imported.status_code == 422 and "Pembrolizumab" in imported.text, imported.text

        price_rise = {"effective_from": str(TODAY + timedelta(days=10)), "cost_per_cycle": "1100.00"}
        unversioned = await svc.client.post(f"{path}/versions", json=price_rise, headers=admin)
        assert unversioned.status_code == 428, unversioned.text
        stale = await svc.client.post(f"{path}/versions", json=price_rise, headers={**admin, "If-Match": 'W/"7"'})
        assert stale.status_code == 412, stale.text

        risen = await svc.client.post(f"{path}/versions", json=price_rise, headers={**admin, "If-Match": 'W/"1"'})
        assert risen.status_code == 201, risen.text
        assert (risen.json()["version"], risen.json()["cost_per_cycle"]) == (2, "1100.00")
        assert risen.json()["drug_name"] == "Examplimab"  # unchanged fields carried over
        history = await svc.client.get(f"{path}/versions", headers=admin)
        assert [(v["version"], v["cost_per_cycle"]) for v in history.json()] == [(1, "1000.00"), (2, "1100.00")]
        today = await svc.client.get(path, headers=admin)
        assert today.json()["cost_per_cycle"] == "1000.00"  # the rise is not in force yet

        too_early = {"effective_from": str(TODAY), "change_note": "withdrawn by NICE"}
        refused = await svc.client.post(f"{path}/close", json=too_early, headers={**admin, "If-Match": 'W/"2"'})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "effective_from"
        closing_day = TODAY + timedelta(days=20)  # versions follow each other: after the price rise
        closure = {"effective_from": str(closing_day), "change_note": "withdrawn by NICE"}
        closed = await svc.client.post(f"{path}/close", json=closure, headers={**admin, "If-Match": 'W/"2"'})
        assert closed.status_code == 201, closed.text
        assert (closed.json()["version"], closed.json()["status"]) == (3, "closed")

        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        listed = (await svc.client.get(path, params={"on": str(closing_day)}, headers=admin)).json()
        assert listed["status"] == "closed"
        body = application_body(listed, nhs_number_for(next_patient_index()), TRUST, gmc, planned=closing_day)
        applied = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
        assert applied.status_code == 201, applied.text
        assert applied.json()["decision"]["reasons"] == [f"list entry {entry_id} is closed to new applications"]

        missing = await svc.client.post(
            "/api/v1/cdf/list/CDF-NO-SUCH-ENTRY/close", json=closure, headers={**admin, "If-Match": 'W/"1"'}
        )
        assert missing.status_code == 404, missing.text
