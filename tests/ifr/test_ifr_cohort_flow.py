"""The cohort trigger across services (issue 21, item 1's acceptance), over the embedded stack: six
requests for one treatment from one region's trusts within the window -> one `ifr.cohort.detected` on the
bus and one mail to the region's policy team; a seventh joins the alert (no second detection, no second
mail); the same six over two regions -> nothing.

ifr-service runs on a database of its own here: the other tests submit the sample treatment from RRV too."""

import asyncio
import json
import uuid

from ifr_http import Ifr, application

from embedded_stack.event_checks import read_topic
from embedded_stack.mail_relay import read_messages
from embedded_stack.testing import RunningService, TestStack, eventually

REGIONS = {"RRV": "Y56", "RJ1": "Y56", "RGT": "Y61"}
LONDON_POLICY = "england.london-specialised-policy@nhs.net"


async def submit(svc: RunningService, stack: TestStack, trust: str, icd10: str) -> dict:
    data = application(clinician={"trust_ods": trust}, clinical={"diagnosis_icd10": icd10})
    return await Ifr(svc.client, stack, trust=trust).submitted(data)


async def cohort_events(stack: TestStack, cases: list[dict]) -> list[dict]:
    """The cohort events counting any of these cases (by id: references repeat across the databases
    other tests' ifr-services number from)."""
    ids = {c["id"] for c in cases}
    records = await read_topic(stack.bootstrap_servers, "ifr.events", idle_s=0.3)
    events = [json.loads(r.value) for r in records]
    return [
        e for e in events if e["type"].startswith("ifr.cohort.") and {c["request_id"] for c in e["data"]["cases"]} & ids
    ]


def mails_about(stack: TestStack, alert_id: str) -> list:
    return [m for m in read_messages(stack.layout.mail) if alert_id in m.get_body(("plain",)).get_content()]


async def test_six_requests_in_one_region_mail_the_policy_team_once(stack: TestStack) -> None:
    database = f"ifr_cohort_flow_{uuid.uuid4().hex[:8]}"
    async with (
        stack.service("ifr", database, trust_regions=REGIONS) as svc,
        stack.service("notification"),
    ):
        # the same six over two regions first: nothing
        spread = [await submit(svc, stack, trust, "M31.4") for trust in ("RRV", "RGT") * 3]
        six = [await submit(svc, stack, trust, "M31.8") for trust in ("RRV", "RJ1") * 3]
        references = {c["reference"] for c in six}

        async def detected() -> list[dict]:
            return [e for e in await cohort_events(stack, six) if e["type"] == "ifr.cohort.detected"]

        (event,) = await eventually(detected)
        data = event["data"]
        assert data["region"] == "Y56" and data["request_count"] == 6
        assert {c["reference"] for c in data["cases"]} == references and data["trusts"] == ["RJ1", "RRV"]
        assert "9990000018" not in json.dumps(event)

        (mail,) = await eventually(lambda: mails_about(stack, data["alert_id"]), within=60)
        assert mail["To"] == LONDON_POLICY
        assert mail["Subject"] == f"IFR cohort {data['reference']}: 6 requests in London"
        text = mail.get_body(("plain",)).get_content()
        # the minimum: the treatment, the trusts and the link; the requests and the indication behind it
        assert "Examplimab" in text and "RJ1, RRV" in text
        assert not any(reference in text for reference in references) and "M31.8" not in text

        seventh = await submit(svc, stack, "RJ1", "M31.8")

        async def updated() -> list[dict]:
            events = await cohort_events(stack, six)
            return [e for e in events if e["type"] == "ifr.cohort.updated"]

        (joined,) = await eventually(updated)
        assert joined["data"]["added"] == [seventh["reference"]] and joined["data"]["alert_id"] == data["alert_id"]
        assert [e["type"] for e in await cohort_events(stack, six)].count("ifr.cohort.detected") == 1
        await asyncio.sleep(1.0)  # time for a second mail, if one were (wrongly) sent
        assert len(mails_about(stack, data["alert_id"])) == 1
        assert await cohort_events(stack, spread) == []
