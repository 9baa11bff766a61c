"""Provider users see only their trust's requests; panel members only cases on their panels' agendas;
officers and other commissioners see all. Another's case answers 404, never 403."""

import uuid

from ifr_http import Ifr, application

from embedded_stack.testing import TestStack


async def test_providers_see_only_their_trust(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        rrv = Ifr(svc.client, stack, trust="RRV")
        rgt = Ifr(svc.client, stack, trust="RGT")
        mine = await rrv.submitted()
        theirs = await rgt.submitted(application(clinician={"trust_ods": "RGT"}))
        assert (await rrv.get(mine, rrv.clinician)).status_code == 200
        for path in ("", "/letters", "/history", "/documents"):
            response = await svc.client.get(f"/api/v1/ifr/requests/{theirs['id']}{path}", headers=rrv.clinician)
            assert response.status_code == 404, path
        refused = await svc.client.post(
            f"/api/v1/ifr/requests/{theirs['id']}/withdraw",
            json={"reason": "x"},
            headers={**rrv.clinician, "If-Match": f'"{theirs["version"]}"'},
        )
        assert refused.status_code == 404
        listed = (await svc.client.get("/api/v1/ifr/requests", params={"limit": 500}, headers=rrv.clinician)).json()
        trusts = {c["provider_ods"] for c in listed["items"]}
        assert trusts == {"RRV"} and mine["id"] in {c["id"] for c in listed["items"]}
        csv = await svc.client.get("/api/v1/ifr/requests.csv", headers=rrv.clinician)
        assert mine["reference"] in csv.text and theirs["reference"] not in csv.text
        # a user of one site of the trust sees only that site's requests
        site = stack.auth("RRV03", "clinician")
        assert (await rrv.get(mine, site)).status_code == 404
        # officers and other commissioners see both
        analyst = stack.auth("X24", "national_analyst")
        for headers in (rrv.officer, analyst):
            assert (await rrv.get(theirs, headers)).status_code == 200
        # a provider cannot take officer actions even on its own case
        ack = await svc.client.post(
            f"/api/v1/ifr/requests/{mine['id']}/acknowledge",
            headers={**rrv.clinician, "If-Match": f'"{mine["version"]}"'},
        )
        assert ack.status_code == 403


async def test_panel_members_see_only_cases_on_their_agendas(stack: TestStack) -> None:
    async with stack.service("ifr", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        member_id = f"member-{uuid.uuid4().hex[:6]}"
        members = [
            {"member_id": member_id, "name": "Dr M", "role": "chair", "voting": True},
            {"member_id": "doc-z", "name": "Dr Z", "role": "clinician", "voting": True},
        ]
        panel = await ifr.panel(members=members)
        other_panel = await ifr.panel()
        on_agenda, _ = await ifr.listed(panel)
        elsewhere, _ = await ifr.listed(other_panel)
        not_listed = await ifr.submitted()
        member = stack.auth("X24", "panel_member", sub=member_id)
        assert (await ifr.get(on_agenda, member)).status_code == 200
        assert (await ifr.get(elsewhere, member)).status_code == 404
        assert (await ifr.get(not_listed, member)).status_code == 404
        listed = (await svc.client.get("/api/v1/ifr/requests", headers=member)).json()["items"]
        assert [c["id"] for c in listed] == [on_agenda["id"]]
        panels = (await svc.client.get("/api/v1/ifr/panels", headers=member)).json()["items"]
        assert [p["id"] for p in panels] == [panel["id"]]
        assert (await svc.client.get(f"/api/v1/ifr/panels/{other_panel['id']}", headers=member)).status_code == 404
        # the member may add a note to a case on their agenda, but not to another
        note = await svc.client.post(
            f"/api/v1/ifr/requests/{on_agenda['id']}/notes", json={"text": "read the scan"}, headers=member
        )
        assert note.status_code == 201
        stray = await svc.client.post(
            f"/api/v1/ifr/requests/{elsewhere['id']}/notes", json={"text": "x"}, headers=member
        )
        assert stray.status_code == 404
        # a member from a provider organisation is still limited to their agendas, not their org
        assert (await ifr.get(not_listed, stack.auth("RRV", "panel_member", sub=member_id))).status_code == 404
