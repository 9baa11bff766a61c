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
