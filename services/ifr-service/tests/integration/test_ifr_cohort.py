"""The cohort trigger over HTTP (issue 21, item 1): requests for one treatment in one region reaching the
threshold in the window raise `ifr.cohort.detected` once, in the submission's transaction (the outbox);
a seventh joins the open alert (`ifr.cohort.updated`), never a second detection; the same requests over
two regions, or outside the window, raise nothing.

Each test has its own database: other tests submit the sample treatment from RRV too."""

import asyncio
import json
import uuid
from datetime import date, timedelta

from ifr_http import Ifr, application
from ifr_samples import COMPLETE
from sqlalchemy import func, select

from casework.events import EventEnvelope, registry
from embedded_stack.testing import RunningService, TestStack
from ifr_service.db.models import CohortAlert

REGIONS = {"RRV": "Y56", "RJ1": "Y56", "RGT": "Y61", "RTH": "Y59"}
NHS_NUMBER = COMPLETE["patient"]["nhs_number"]


def own_database() -> str:
    return f"ifr_cohort_{uuid.uuid4().hex[:10]}"


async def cohort_events(svc: RunningService) -> list[EventEnvelope]:
    outbox = svc.runtime.tables.outbox
    async with svc.runtime.sessions() as session:
        rows = await session.scalars(select(outbox.c.envelope).order_by(outbox.c.id))
        events = [EventEnvelope.model_validate(e) for e in rows]
    found = [e for e in events if e.type.startswith("ifr.cohort.")]
    for event in found:
        registry.parse(event)
        assert NHS_NUMBER not in json.dumps(event.data)
    return found


async def request_from(svc: RunningService, stack: TestStack, trust: str, icd10: str = "M31.8", **submit) -> dict:
    ifr = Ifr(svc.client, stack, trust=trust)
    return await ifr.submitted(
        application(clinician={"trust_ods": trust}, clinical={"diagnosis_icd10": icd10}), **submit
    )


async def test_six_in_one_region_raise_one_alert_and_a_seventh_joins_it(stack: TestStack) -> None:
    async with stack.service("ifr", own_database(), run_workers=False, trust_regions=REGIONS) as svc:
        ifr = Ifr(svc.client, stack)
        cases = [await request_from(svc, stack, trust) for trust in ("RRV", "RJ1", "RRV", "RJ1", "RRV")]
        # the same drug for another indication, and the same treatment in another region: not counted
        await request_from(svc, stack, "RRV", icd10="M31.7")
        await request_from(svc, stack, "RGT")
        screened_out = await ifr.act(
            await ifr.act(await ifr.act(cases[0], "acknowledge"), "screen"),
            "screen-out",
            {"reasons": ["no_prospect_of_exceptionality"]},
        )
        assert await cohort_events(svc) == []
        sixth = await request_from(svc, stack, "RJ1")
        (detected,) = await cohort_events(svc)
        assert detected.type == "ifr.cohort.detected"
        data = detected.data
        assert (data["region"], data["region_name"], data["request_count"]) == ("Y56", "London", 6)
        assert data["treatment_key"] == "dmd:3762811000001103|icd10:M318"
        assert (data["treatment_name"], data["treatment_code"]) == ("Examplimab", "3762811000001103")
        assert (data["indication_code"], data["indication"]) == ("M31.8", "Rare vasculitis")
        assert data["trusts"] == ["RJ1", "RRV"]
        assert [c["reference"] for c in data["cases"]] == [c["reference"] for c in [*cases, sixth]]
        outcomes = {c["reference"]: c["state"] for c in data["cases"]}
        assert outcomes[screened_out["reference"]] == "screened_out" and outcomes[sixth["reference"]] == "received"
        assert (data["min_requests"], data["window_months"], data["detected_on"]) == (6, 12, date.today().isoformat())
        assert detected.subject == data["alert_id"]

        seventh = await request_from(svc, stack, "RRV")
        detected_again, updated = await cohort_events(svc)
        assert detected_again.id == detected.id  # no second detection
        assert updated.type == "ifr.cohort.updated" and updated.subject == data["alert_id"]
        assert updated.data["added"] == [seventh["reference"]] and updated.data["request_count"] == 7
        assert updated.data["reference"] == data["reference"]
        async with svc.runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(CohortAlert)) == 1


async def test_the_same_six_over_two_regions_raise_nothing(stack: TestStack) -> None:
    async with stack.service("ifr", own_database(), run_workers=False, trust_regions=REGIONS) as svc:
        for trust in ("RRV", "RGT", "RJ1", "RGT", "RRV", "RGT"):
            await request_from(svc, stack, trust)
        assert await cohort_events(svc) == []


async def test_requests_outside_the_window_do_not_count(stack: TestStack) -> None:
    long_ago = date.today() - timedelta(days=400)
    async with stack.service("ifr", own_database(), run_workers=False, trust_regions=REGIONS) as svc:
        for _ in range(3):  # paper applications received more than twelve months ago, recorded now
            await request_from(svc, stack, "RRV", received_on=long_ago)
        for _ in range(3):
            await request_from(svc, stack, "RRV")
        assert await cohort_events(svc) == []


async def test_a_configured_threshold_and_requests_received_at_once(stack: TestStack) -> None:
    settings = {"trust_regions": REGIONS, "cohort_min_requests": 3, "cohort_window_months": 6}
    async with stack.service("ifr", own_database(), run_workers=False, **settings) as svc:
        ifr = Ifr(svc.client, stack)
        drafts = [
            await ifr.draft(application(clinician={"trust_ods": "RTH"}), headers=stack.auth("RTH", "clinician"))
            for _ in range(4)
        ]
        # four submissions at once: the count is taken one after the other, so exactly one crosses
        await asyncio.gather(*(ifr.act(d, "submit") for d in drafts))
        events = await cohort_events(svc)
        assert [e.type for e in events] == ["ifr.cohort.detected", "ifr.cohort.updated"]
        assert events[0].data["request_count"] == 3 and events[1].data["request_count"] == 4
        assert events[0].data["region"] == "Y59"
        assert events[0].data["min_requests"] == 3 and events[0].data["window_months"] == 6


async def test_the_alerts_api_and_redirecting_one_of_a_cohort_as_service_development(stack: TestStack) -> None:
    async with stack.service("ifr", own_database(), run_workers=False, trust_regions=REGIONS) as svc:
        ifr = Ifr(svc.client, stack)
        alone = await ifr.act(
            await ifr.act(await request_from(svc, stack, "RRV", icd10="M31.4"), "acknowledge"), "screen"
        )
        assert "redirect-service-development" not in alone["allowed_actions"] and alone["open_cohort_alert"] is None
        refused = await svc.client.post(
            f"/api/v1/ifr/requests/{alone['id']}/redirect-service-development",
            json={},
            headers={**ifr.officer, "If-Match": f'W/"{alone["version"]}"'},
        )
        assert refused.status_code == 409 and "no open cohort alert" in refused.json()["detail"]
        assert "redirect-service-development" not in refused.json()["allowed_actions"]

        cases = [await request_from(svc, stack, trust) for trust in ("RRV", "RJ1") * 3]
        listed = await svc.client.get("/api/v1/ifr/cohort-alerts", params={"region": "Y56"}, headers=ifr.officer)
        (alert,) = listed.json()["items"]
        assert (alert["reference"], alert["region_name"], alert["request_count"], alert["open"]) == (
            "COHORT-" + str(date.today().year) + "-0001",
            "London",
            6,
            True,
        )
        assert [c["reference"] for c in alert["cases"]] == [c["reference"] for c in cases]
        assert alert["trusts"] == ["RJ1", "RRV"] and alert["indication_code"] == "M31.8"
        east = await svc.client.get("/api/v1/ifr/cohort-alerts", params={"region": "Y61"}, headers=ifr.officer)
        assert east.json()["items"] == []
        one = await svc.client.get(f"/api/v1/ifr/cohort-alerts/{alert['id']}", headers=ifr.officer)
        assert one.json() == alert
        for who in (ifr.clinician, stack.auth("X24", "panel_member", sub="chair-a")):
            assert (await svc.client.get("/api/v1/ifr/cohort-alerts", headers=who)).status_code == 403
        assert (
            await svc.client.get(f"/api/v1/ifr/cohort-alerts/{uuid.uuid4()}", headers=ifr.officer)
        ).status_code == 404
        bad = await svc.client.get("/api/v1/ifr/cohort-alerts", params={"region": "Y57"}, headers=ifr.officer)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "region"

        # a new request for the treatment: the officer screening it sees the alert and may redirect it
        new = await ifr.act(await ifr.act(await request_from(svc, stack, "RRV"), "acknowledge"), "screen")
        assert new["open_cohort_alert"]["id"] == alert["id"] and new["open_cohort_alert"]["request_count"] == 7
        assert "redirect-service-development" in new["your_actions"]
        seen_by_trust = (await ifr.get(new, headers=ifr.clinician)).json()
        assert seen_by_trust["open_cohort_alert"] is None  # other trusts' requests are NHS England's to see
        wrong = await svc.client.post(
            f"/api/v1/ifr/requests/{new['id']}/redirect-service-development",
            json={"alert_id": str(uuid.uuid4())},
            headers={**ifr.officer, "If-Match": f'W/"{new["version"]}"'},
        )
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "alert_id"
        body = {"alert_id": alert["id"], "detail": "The London policy team meets in January."}
        redirected = await ifr.act(new, "redirect-service-development", body)
        assert redirected["state"] == "service_development" and redirected["stage"] == "closed"
        assert sorted(redirected["allowed_actions"]) == ["close", "provide-information"]
        assert all(c["status"] != "running" for c in redirected["clocks"])

        outbox = svc.runtime.tables.outbox
        async with svc.runtime.sessions() as session:
            rows = await session.scalars(select(outbox.c.envelope).where(outbox.c.message_key == new["id"]))
            events = [EventEnvelope.model_validate(e) for e in rows]
        (event,) = [e for e in events if e.type == "ifr.request.service_development"]
        registry.parse(event)
        assert event.data["alert_reference"] == alert["reference"] and event.data["cohort_requests"] == 7
        assert event.data["region_name"] == "London" and event.data["state"] == "service_development"
        letters = (await svc.client.get(f"/api/v1/ifr/requests/{new['id']}/letters", headers=ifr.clinician)).json()
        letter = letters[-1]
        assert letter["kind"] == "screening_outcome" and "will not go to an IFR panel" in letter["body"]
        assert "The London policy team meets in January." in letter["body"]
        assert "send new information" in letter["body"] and alert["reference"] in letter["body"]

        # new information that the patient differs from the group: screened again as an individual request
        back = await ifr.act(
            redirected, "provide-information", {"information": "A second, rarer variant."}, ifr.clinician
        )
        assert back["state"] == "resubmitted"
        assert {c["clock"] for c in back["clocks"] if c["status"] == "running"} == {
            "screening_outcome",
            "panel_decision",
        }
        closed = await ifr.act(await ifr.act(back, "redirect-service-development"), "close")
        assert closed["state"] == "closed"
