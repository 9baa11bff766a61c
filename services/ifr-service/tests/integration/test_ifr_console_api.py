"""What the web console asks of the IFR API: counts, the worklist by due date, search by NHS number in a
body, each clock's timeliness, the actions the caller may take, the quorum per agenda entry, and the
panel's chair recording its decision."""

import uuid
from datetime import date, timedelta

from ifr_http import MEMBERS, REASONS, Ifr, application
from ifr_samples import COMPLETE

from embedded_stack.testing import TestStack


async def test_worklist_summary_counts_what_the_filters_give(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_console_summary", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        await ifr.screening()
        waiting = await ifr.screening()
        await ifr.act(waiting, "request-information", {"information_needed": "scan"})
        await ifr.submitted()
        summary = await svc.client.get("/api/v1/ifr/requests/summary?trust=RRV", headers=ifr.officer)
        assert summary.status_code == 200, summary.text
        body = summary.json()
        assert body["total"] == 3
        assert body["by_stage"]["screening"] == 2 and body["by_stage"]["intake"] == 1
        assert body["awaiting_information"] == 1
        screening_only = (
            await svc.client.get("/api/v1/ifr/requests/summary?trust=RRV&stage=intake", headers=ifr.officer)
        ).json()
        assert screening_only["total"] == 1
        other_trust = await svc.client.get("/api/v1/ifr/requests/summary", headers=stack.auth("RTH", "clinician"))
        assert other_trust.json()["total"] == 0  # a provider counts only its own cases


async def test_worklist_by_next_due_date_pages_without_gaps(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_console_sort", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        for days in (30, 5, 15, 1):
            await ifr.submitted(received_on=date.today() - timedelta(days=days))
        await ifr.draft()  # no clock: after every due date
        seen, cursor = [], None
        while True:
            url = "/api/v1/ifr/requests?trust=RRV&sort=next_due&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await svc.client.get(url, headers=ifr.officer)).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 5 and len({c["id"] for c in seen}) == 5
        dues = [c["next_due"] for c in seen]
        assert dues[-1] is None and dues[:-1] == sorted(dues[:-1])


async def test_search_by_nhs_number_in_the_body_or_by_reference(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_console_search", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        patient = {**COMPLETE["patient"], "nhs_number": "9990001022"}
        case = await ifr.submitted(application(patient=patient))
        await ifr.submitted()  # another patient
        url = "/api/v1/ifr/requests/search"
        found = await svc.client.post(url, json={"nhs_number": "999 000 1022".replace(" ", "")}, headers=ifr.officer)
        assert found.status_code == 200 and [c["id"] for c in found.json()["items"]] == [case["id"]]
        by_reference = await svc.client.post(url, json={"reference": case["reference"].lower()}, headers=ifr.officer)
        assert [c["id"] for c in by_reference.json()["items"]] == [case["id"]]
        # another trust's user finds nothing of it
        elsewhere = await svc.client.post(
            url, json={"nhs_number": "9990001022"}, headers=stack.auth("RTH", "clinician")
        )
        assert elsewhere.status_code == 200 and elsewhere.json()["items"] == []
        bad = await svc.client.post(url, json={"nhs_number": "9990001023"}, headers=ifr.officer)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "nhs_number"
        neither = await svc.client.post(url, json={}, headers=ifr.officer)
        assert neither.status_code == 422
        async with svc.runtime.sessions() as session:
            audit = svc.runtime.tables.audit
            from sqlalchemy import select

            rows = (
                await session.execute(select(audit.c.action, audit.c.detail).where(audit.c.action == "search"))
            ).all()
        assert rows and all("9990001022" not in str(r.detail) for r in rows)  # audited, without the number


async def test_clock_timeliness_and_the_callers_own_actions(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_console_actions", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        late = await ifr.submitted(received_on=date.today() - timedelta(days=20))
        clocks = {c["clock"]: c["timeliness"] for c in late["clocks"]}
        assert clocks["acknowledge"] == "overdue" and clocks["panel_decision"] in ("on_time", "due_soon", "overdue")
        acknowledged = await ifr.act(late, "acknowledge")
        assert {c["clock"]: c["timeliness"] for c in acknowledged["clocks"]}["acknowledge"] == "missed"
        fresh = await ifr.submitted()
        assert {c["clock"]: c["timeliness"] for c in fresh["clocks"]}["screening_outcome"] == "on_time"
        as_clinician = (await ifr.get(fresh, headers=ifr.clinician)).json()
        assert "acknowledge" in as_clinician["allowed_actions"]
        assert as_clinician["your_actions"] == ["withdraw"]  # the trust may withdraw, not acknowledge
        as_officer = (await ifr.get(fresh)).json()
        assert as_officer["your_actions"] == as_officer["allowed_actions"]


async def test_agenda_quorum_and_the_chair_recording_the_decision(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_console_chair", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case, panel = await ifr.listed()
        panel = (await svc.client.get(f"/api/v1/ifr/panels/{panel['id']}", headers=ifr.officer)).json()
        entry = next(a for a in panel["agenda"] if a["request_id"] == case["id"])
        assert entry["quorum_shortfall"] == []
        declared = await svc.client.post(
            f"/api/v1/ifr/panels/{panel['id']}/conflicts",
            json={"request_id": case["id"], "member_id": "lay-a", "reason": "neighbour"},
            headers=ifr.officer,
        )
        shortfall = next(a for a in declared.json()["agenda"] if a["request_id"] == case["id"])["quorum_shortfall"]
        assert any(s.startswith("lay_member") for s in shortfall)

        case, panel = await ifr.listed()
        chair = stack.auth("X24", "panel_member", sub="chair-a")
        member = stack.auth("X24", "panel_member", sub="doc-a")
        as_member = (await ifr.get(case, headers=member)).json()
        assert "decide" in as_member["allowed_actions"] and "decide" not in as_member["your_actions"]
        assert "decide" in (await ifr.get(case, headers=chair)).json()["your_actions"]
        body = {"outcome": "approved", "reasons": REASONS, "present": [m["member_id"] for m in MEMBERS]}
        refused = await ifr.act(case, "decide", body, headers=member, expect=403)
        assert "chair" in refused["detail"]
        decided = await ifr.act(case, "decide", body, headers=chair)
        assert decided["state"] == "decided" and decided["outcome"] == "approved"
        assert (await ifr.get({"id": str(uuid.uuid4())})).status_code == 404
