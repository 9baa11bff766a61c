"""Commissioning regions over HTTP: a request's region follows its trust, the worklist filters by it,
the regions list with their trusts; the migrations back-fill existing requests (region, treatment key)
and panels."""

import asyncio
import json
import uuid

import asyncpg
from ifr_http import Ifr, application

from casework.migrations import ensure_database_sync, upgrade
from casework.services import load_definition
from embedded_stack.testing import TestStack

BEFORE_REGIONS = "c26f8b3d5e01"


async def test_a_request_takes_its_trusts_region(stack: TestStack) -> None:
    mapping = {"RRV": "Y56", "RGT": "Y61"}
    async with stack.service("ifr", run_workers=False, trust_regions=mapping) as svc:
        london, east = Ifr(svc.client, stack, trust="RRV"), Ifr(svc.client, stack, trust="RGT")
        draft = await london.draft()
        assert draft["region"] == "Y56"
        submitted = await east.submitted(application(clinician={"trust_ods": "RGT"}))
        assert submitted["region"] == "Y61"
        unmapped = await Ifr(svc.client, stack, trust="RJ1").submitted(application(clinician={"trust_ods": "RJ1"}))
        assert unmapped["region"] is None  # a trust the mapping does not know: no region, not a guess
        in_east = await svc.client.get("/api/v1/ifr/requests", params={"region": "Y61"}, headers=london.officer)
        assert submitted["id"] in {c["id"] for c in in_east.json()["items"]}
        assert {c["region"] for c in in_east.json()["items"]} == {"Y61"}
        wrong = await svc.client.get("/api/v1/ifr/requests", params={"region": "Y57"}, headers=london.officer)
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "region"
        regions = (await svc.client.get("/api/v1/ifr/regions", headers=london.officer)).json()
        assert [r["code"] for r in regions] == ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"]
        assert {r["code"]: (r["name"], r["trusts"]) for r in regions}["Y61"] == ("East of England", ["RGT"])

    # the mapping as it stands on submission: a draft made before a trust was mapped gets its region then
    async with stack.service("ifr", run_workers=False, trust_regions={}) as svc:
        draft = await Ifr(svc.client, stack).draft()
    assert draft["region"] is None
    async with stack.service("ifr", run_workers=False, trust_regions={"RRV": "Y56"}) as svc:
        ifr = Ifr(svc.client, stack)
        assert (await ifr.act(draft, "submit", headers=ifr.clinician))["region"] == "Y56"


def _migrate(url: str, revision: str) -> None:
    """Called in a thread: Alembic's env runs its own event loop."""
    ensure_database_sync(url)
    upgrade(load_definition("ifr"), url, revision)


async def test_the_migration_back_fills_requests_and_panels(stack: TestStack) -> None:
    database = f"ifr_regions_{uuid.uuid4().hex[:8]}"
    url = stack.database_url(database)
    await asyncio.to_thread(_migrate, url, BEFORE_REGIONS)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        cases = {"RRV": uuid.uuid4(), "RGT03": uuid.uuid4(), "RXX": uuid.uuid4(), None: uuid.uuid4()}
        for n, (ods, case_id) in enumerate(cases.items()):
            await connection.execute(
                "INSERT INTO ifr_requests (id, reference, state, version, urgent, provider_ods, application,"
                " source, intake_problems, created_by) VALUES ($1, $2, 'draft', 1, false, $3, $4, 'rest', '[]', 't')",
                case_id,
                f"IFR-2026-9{n:05d}",
                ods,
                json.dumps(application() if ods == "RRV" else {}),
            )
        panels = {"east": uuid.uuid4(), "empty": uuid.uuid4()}
        for name, panel_id in panels.items():
            await connection.execute(
                "INSERT INTO ifr_panels (id, kind, name, meeting_date, created_by)"
                " VALUES ($1, 'ifr', $2, current_date, 't')",
                panel_id,
                name,
            )
        # two listings of the East of England case (decision, then ratification), one of the London case
        for case in ("RGT03", "RRV", "RGT03"):
            await connection.execute(
                "INSERT INTO ifr_agenda_items (panel_id, request_id, purpose, added_by)"
                " VALUES ($1, $2, 'decision', 't')",
                panels["east"],
                cases[case],
            )
        await asyncio.to_thread(_migrate, url, "head")
        regions = dict(await connection.fetch("SELECT id, region FROM ifr_requests"))
        assert {ods: regions[case_id] for ods, case_id in cases.items()} == {
            "RRV": "Y56",
            "RGT03": "Y61",  # a site: its trust's region
            "RXX": None,
            None: None,
        }
        # the next revision's treatment key, from the application (none without a treatment)
        keys = dict(await connection.fetch("SELECT id, treatment_key FROM ifr_requests"))
        assert keys[cases["RRV"]] == "dmd:3762811000001103|icd10:M318" and keys[cases["RXX"]] is None
        panel_regions = dict(await connection.fetch("SELECT id, region FROM ifr_panels"))
        # the region most of its agenda's cases are in; a panel with no cases: London
        assert {name: panel_regions[panel_id] for name, panel_id in panels.items()} == {"east": "Y61", "empty": "Y56"}
    finally:
        await connection.close()
