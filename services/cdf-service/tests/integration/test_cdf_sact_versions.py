"""SACT v4.0 and v3.0 through the API, real database and broker: the same treatments either way, what
v4.0's items 83 and 88 mean, files of neither version refused whole, and the schemas suppliers read."""

from __future__ import annotations

import io
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest
from cdf_helpers import confirmed_clinician, load_seed_list, next_patient_index, processed
from sqlalchemy import text
from test_cdf_sact_intake import approve_all, register_clinicians

from casework.events.catalogue.cdf import StopReason
from cdf_service.domain.national_list import ListEntry
from cdf_service.sact_schema import SACT_V3, SACT_V4, SactSchema
from cdf_service.synthetic.national import Course, TrustPlan, application_for, build_trust, seed_entries
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import RunningService, TestStack, eventually

pytestmark = pytest.mark.integration
TRUST = "RWE"


def sact_file(courses: list[Course], schema: SactSchema, as_of: date, seed: int = 3) -> bytes:
    buffer = io.StringIO()
    write_sact_csv(buffer, courses, as_of, random.Random(seed), schema=schema)
    return buffer.getvalue().encode()


async def post_csv(svc: RunningService, stack: TestStack, data: bytes, submission_id: str, **query: str) -> Any:
    params = {"provider_ods": TRUST, "period": date.today().strftime("%Y-%m"), "submission_id": submission_id}
    headers = {**stack.auth(TRUST, "provider_system"), "Content-Type": "text/csv"}
    return await svc.client.post("/api/v1/sact/submissions", params=params | query, content=data, headers=headers)


async def forecasts_settled(svc: RunningService) -> None:
    async def settled() -> bool:
        async with svc.runtime.unit_of_work() as uow:
            return not await uow.session.scalar(text("SELECT count(*) FROM forecast_dirty"))

    await eventually(settled, within=60, interval=0.1)


async def treatments_and_forecasts(svc: RunningService) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Per (patient_ref, entry): what SACT made of the approval; per (trust, entry, year): the forecast."""
    async with svc.runtime.unit_of_work() as uow:
        apps = await uow.session.execute(
            text(
                "SELECT patient_ref, entry_id, status, first_administration, final_treatment_date, stop_reason, "
                "stop_reasons, cycles_given FROM applications WHERE provider_ods = :trust"
            ),
            {"trust": TRUST},
        )
        forecasts = await uow.session.execute(
            text(
                "SELECT provider_ods, entry_id, financial_year, actual_to_date, active_projection, pipeline, "
                "outturn, lower, upper, months FROM forecasts WHERE provider_ods = :trust"
            ),
            {"trust": TRUST},
        )
        return ({(r[0], r[1]): tuple(r[2:]) for r in apps}, {tuple(r[:3]): tuple(r[3:]) for r in forecasts})


async def stop_events(svc: RunningService) -> dict[str, list[str]]:
    async with svc.runtime.unit_of_work() as uow:
        rows = await uow.session.execute(
            text(
                "SELECT envelope->'data' FROM outbox_events WHERE event_type = 'cdf.treatment.stopped' "
                "AND envelope->'data'->>'provider_ods' = :trust"
            ),
            {"trust": TRUST},
        )
        return {data["patient_ref"]: data["stop_reasons"] for (data,) in rows}


async def load_version(stack: TestStack, database: str, schema: SactSchema) -> tuple[Any, ...]:
    rng = random.Random(515)
    plan = TrustPlan(cdf_patients=40, routine_patients=60, several_reasons_share=0.0)  # v3.0 has one reason
    synthetic = build_trust(TRUST, plan, rng)
    assert any(c.pack_cycles > 1 for c in synthetic.cdf_courses)  # v4.0 rows of several cycles
    assert any(c.final_treatment(plan.as_of) for c in synthetic.cdf_courses)  # and stops
    async with stack.service("cdf", database=database, lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        await register_clinicians(svc, stack, synthetic)
        await approve_all(svc, stack, synthetic)
        await forecasts_settled(svc)
        posted = await post_csv(svc, stack, sact_file(synthetic.courses, schema, plan.as_of), f"v{schema.version}")
        assert posted.status_code == 202, posted.text
        done = await processed(svc.client, stack, posted.json()["id"])
        assert (done["sact_version"], done["rows_rejected"]) == (f"{schema.version}.0", 0)
        await forecasts_settled(svc)
        return (*await treatments_and_forecasts(svc), await stop_events(svc), done["matched"])


async def test_a_v4_file_and_a_v3_file_of_the_same_treatments_give_the_same_treatments_stops_and_forecasts(
    stack: TestStack,
) -> None:
    v4 = await load_version(stack, "cdf_sact_v4", SACT_V4)
    v3 = await load_version(stack, "cdf_sact_v3", SACT_V3)
    treatments, forecasts, stops, matched = v4
    assert treatments == v3[0]
    assert forecasts == v3[1] and any(f[0] > 0 for f in forecasts.values())  # actual spend in both
    assert stops == v3[2] and len(stops) >= 3
    assert {"started", "stopped", "unapproved"} <= set(matched) and matched["stopped"] == len(stops)
    assert {tuple(reasons) for reasons in stops.values()} > {("progression",)}  # several kinds of stop
    # the words and the codes agree
    for status, _, final, words, codes, cycles in treatments.values():
        if status == "treatment_stopped":
            assert final is not None and codes and words == "; ".join(_WORDS[c] for c in codes) and cycles >= 1


_WORDS = {
    "completed": "completed as planned",
    "progression": "disease progression",
    "toxicity": "toxicity",
    "patient_choice": "patient choice",
    "organisation": "organisation (trust) issues",
    "death": "death of patient",
    "other": "other",
}


def course_of(entry: ListEntry, gmc: str, start: date, **more: Any) -> Course:
    return Course(
        trust=TRUST,
        nhs_number=nhs_number_for(next_patient_index()),
        born=date(1955, 6, 1),
        sex="2",
        gmc=gmc,
        diagnosis="C56.X",
        drugs=(entry.drug_name,),
        cycle_days=entry.cycle_length_days,
        regimen_start=start,
        entry_id=entry.entry_id,
        approved=True,
        planned_start=start,
        **more,
    )


async def approve(svc: RunningService, stack: TestStack, courses: list[Course], entry: ListEntry) -> list[str]:
    ids = []
    for course in courses:
        made = await svc.client.post(
            "/api/v1/cdf/applications", json=application_for(course, entry), headers=stack.auth(TRUST, "clinician")
        )
        assert made.status_code == 201 and made.json()["status"] == "approved", made.text
        ids.append(made.json()["id"])
    return ids


async def application(svc: RunningService, stack: TestStack, application_id: str) -> dict[str, Any]:
    got = await svc.client.get(f"/api/v1/cdf/applications/{application_id}", headers=stack.auth(TRUST, "cdf_manager"))
    return got.json()


async def test_v4_cycles_of_one_row_and_every_stop_reason(stack: TestStack) -> None:
    olaparib = seed_entries()["CDF-OLAP-OV-MAINT"]
    today = date.today()
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        # one patient dispensed three cycles at once ten days ago (one row: item 83 = 3, item 82 = 28)
        pack = course_of(olaparib, gmc, today - timedelta(days=10), cycles=6, pack_cycles=3)
        # three patients whose one cycle ended with item 88 = "5", "7" and "1,3"
        ended = [
            course_of(olaparib, gmc, today - timedelta(days=40), cycles=1, reasons=reasons)
            for reasons in (
                (StopReason.ORGANISATION,),
                (StopReason.DEATH,),
                (StopReason.COMPLETED, StopReason.TOXICITY),
            )
        ]
        ids = await approve(svc, stack, [pack, *ended], olaparib)
        data = sact_file([pack, *ended], SACT_V4, today - timedelta(days=1))
        rows = [row.split(",") for row in data.decode().splitlines()[1:]]
        cycles_at = SACT_V4.headers.index("NUMBER_OF_CYCLES_ADMINISTERED_ON_A_NAMED_DAY")
        assert rows[0][cycles_at] == "3" and len(rows) == 4  # the pack is one row
        assert '"1,3"' in data.decode() and rows[1][SACT_V4.headers.index("END_OF_REGIMEN_SUMMARY")] == "5"
        done = await processed(svc.client, stack, (await post_csv(svc, stack, data, "v4-items")).json()["id"])
        assert (done["rows_total"], done["rows_rejected"], done["matched"]["stopped"]) == (4, 0, 3)

        packed = await application(svc, stack, ids[0])
        assert (packed["status"], packed["cycles_given"]) == ("treatment_started", 3)
        treatments = await svc.client.get(
            "/api/v1/cdf/treatments", params={"provider": TRUST}, headers=stack.auth(TRUST, "cdf_manager")
        )
        [row] = [t for t in treatments.json()["items"] if t["application_id"] == ids[0]]
        assert (row["cycles_given"], row["cycles_dispensed"]) == (3, 3)
        assert row["cost_to_date"] == str(olaparib.cost_per_cycle * 3)
        await forecasts_settled(svc)
        forecast = await svc.client.get(
            "/api/v1/cdf/forecasts",
            params={"provider": TRUST, "entry_id": olaparib.entry_id},
            headers=stack.auth(TRUST, "trust_cdf_lead"),
        )
        [stored] = forecast.json()["items"]
        dispensed_month = (today - timedelta(days=10)).strftime("%Y-%m")
        # the pack's three cycles (and the single cycles of the stopped patients) cost when dispensed
        month_actual = sum(float(m["actual"]) for m in stored["months"] if m["month"] == dispensed_month)
        assert month_actual >= float(olaparib.cost_per_cycle * 3)

        reasons = [(await application(svc, stack, i))["stop_reasons"] for i in ids[1:]]
        assert reasons == [["organisation"], ["death"], ["completed", "toxicity"]]
        async with svc.runtime.unit_of_work() as uow:
            events = await uow.session.execute(
                text(
                    "SELECT envelope->'data'->>'application_id', envelope->'data' FROM outbox_events "
                    "WHERE event_type IN ('cdf.treatment.stopped', 'cdf.treatment.started')"
                    " AND envelope->'data'->>'application_id' = ANY(:ids)"
                ),
                {"ids": ids},
            )
            payloads: dict[str, list[dict[str, Any]]] = {}
            for app_id, payload in events:
                payloads.setdefault(app_id, []).append(payload)
        stopped = {app_id: p for app_id, ps in payloads.items() for p in ps if "stop_reasons" in p}
        assert [stopped[i]["stop_reasons"] for i in ids[1:]] == reasons
        assert [stopped[i]["stop_reason"] for i in ids[1:]] == [
            "organisation (trust) issues",
            "death of patient",
            "completed as planned; toxicity",
        ]
        started = [p for p in payloads[ids[0]] if "cycles_to_date" in p]
        assert started and started[0]["dispensed"] is True  # an oral drug: dispensed, not confirmed taken


V2_STYLE_HEADER = (
    "NHS_NUMBER,DATE_OF_BIRTH,GENDER_CURRENT,ORGANISATION_CODE_OF_PROVIDER,PRIMARY_DIAGNOSIS,REGIMEN,"
    "START_DATE_OF_REGIMEN,CYCLE_NUMBER,START_DATE_OF_CYCLE,DRUG_NAME,DRUG_DM_D_CODE,ADMINISTRATION_DATE,"
    "DATE_OF_FINAL_TREATMENT,REGIMEN_OUTCOME_SUMMARY"
)


async def test_files_of_neither_version_are_refused_naming_what_is_wrong_and_nothing_is_stored(
    stack: TestStack,
) -> None:
    rng = random.Random(9)
    plan = TrustPlan(cdf_patients=0, routine_patients=3)
    courses = build_trust(TRUST, plan, rng).courses
    v4 = sact_file(courses, SACT_V4, plan.as_of).decode()
    v2_row = f"9990000018,1960-01-01,1,{TRUST},C34.1,CARBOPLATIN,2026-01-05,1,2026-01-05,Carboplatin,,2026-01-05,,"
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        v2 = await post_csv(svc, stack, f"{V2_STYLE_HEADER}\n{v2_row}\n".encode(), "v2-style")
        assert v2.status_code == 422 and v2.headers["content-type"].startswith("application/problem+json")
        problem = v2.json()
        unknown = {e["field"] for e in problem["errors"] if e["message"].startswith("unknown column")}
        assert {"DATE_OF_BIRTH", "GENDER_CURRENT", "DRUG_DM_D_CODE", "REGIMEN_OUTCOME_SUMMARY"} <= unknown
        assert {"field": "PERSON_BIRTH_DATE", "message": "column missing from the header"} in problem["errors"]
        assert problem["expected_version"] in ("3.0", "4.0") and "GET /api/v1/sact/schemas/" in problem["detail"]

        header, body = v4.split("\n", 1)
        shoe = await post_csv(svc, stack, f"{header},SHOE_SIZE\n".encode() + body.encode(), "unknown-column")
        assert shoe.status_code == 422
        assert shoe.json()["errors"] == [
            {"field": "SHOE_SIZE", "message": "unknown column (not a SACT v4.0 data item)"}
        ]
        assert shoe.json()["expected_version"] == "4.0"

        declared = await post_csv(svc, stack, v4.encode(), "declared-v3", sact_version="3")
        assert declared.status_code == 422 and declared.json()["expected_version"] == "3.0"
        assert {"field": "ADMINISTRATION_DATE", "message": "column missing from the header"} in declared.json()[
            "errors"
        ]
        no_version = await post_csv(svc, stack, v4.encode(), "v2", sact_version="2")
        assert no_version.status_code == 422 and no_version.json()["errors"][0]["field"] == "sact_version"

        records = [{"NHS_NUMBER": "9990000018", "ADMINISTRATION_DATE": "2026-01-05", "SHOE_SIZE": "9"}]
        batch = {"provider_ods": TRUST, "period": "2026-10", "submission_id": "json-unknown", "records": records}
        refused = await svc.client.post(
            "/api/v1/sact/submissions", json=batch, headers=stack.auth(TRUST, "provider_system")
        )
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"field": "SHOE_SIZE", "message": "unknown key (not a SACT v3.0 data item)"}
        ]

        async with svc.runtime.unit_of_work() as uow:
            stored = await uow.session.scalar(
                text("SELECT count(*) FROM sact_submissions WHERE submission_ref = ANY(:refs)"),
                {"refs": ["v2-style", "unknown-column", "declared-v3", "v2", "json-unknown"]},
            )
            pieces = await uow.session.scalar(text("SELECT count(*) FROM sact_chunks"))
        assert (stored, pieces) == (0, 0)  # (other tests' small uploads drop their piece once processed)

        accepted = await post_csv(svc, stack, v4.encode(), "good", sact_version="4.0")
        assert accepted.status_code == 202 and accepted.json()["sact_version"] == "4.0"


async def test_a_row_with_three_independent_problems_is_reported_with_all_three(stack: TestStack) -> None:
    rng = random.Random(11)
    plan = TrustPlan(cdf_patients=0, routine_patients=2)
    data = sact_file(build_trust(TRUST, plan, rng).courses, SACT_V4, plan.as_of).decode()
    header, first, *_ = data.splitlines()
    cells = first.split(",")
    at = {name: i for i, name in enumerate(SACT_V4.headers)}
    cells[at["NHS_NUMBER"]] = "9990000019"  # check digit wrong
    cells[at["END_OF_REGIMEN_SUMMARY"]] = "9"  # not a code
    cells[at["PERSON_BIRTH_DATE"]] = "2030-01-01"  # born after the regimen started
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        posted = await post_csv(svc, stack, f"{header}\n{','.join(cells)}\n".encode(), "three-problems")
        done = await processed(svc.client, stack, posted.json()["id"])
        assert (done["rows_accepted"], done["rows_rejected"]) == (0, 1)
        assert [(p["row"], p["field"]) for p in done["report"]] == [
            (1, "NHS_NUMBER"),
            (1, "END_OF_REGIMEN_SUMMARY"),
            (1, "START_DATE_OF_REGIMEN"),
        ]
        assert done["report"][2]["reason"] == "is before the date of birth"


async def test_the_schemas_list_each_versions_items_with_their_numbers(stack: TestStack) -> None:
    async with stack.service("cdf", run_workers=False) as svc:
        headers = stack.auth("RRV", "provider_system")
        v4 = await svc.client.get("/api/v1/sact/schemas/4", headers=headers)
        assert v4.status_code == 200
        items = {i["number"]: i for i in v4.json()["items"]}
        assert {16, 22, 26, 27, 31, 80, 81, 82, 83, 88} <= set(items)
        assert (items[16]["name"], items[16]["header"], items[16]["mandatory"]) == ("Regimen", "REGIMEN", True)
        assert items[83]["name"] == "Number Of Cycles Administered (On A Named Day)" and items[83]["type"] == "integer"
        assert items[80]["choice"] == items[81]["choice"] == "administration date"
        assert [c["code"] for c in items[88]["codes"]] == [str(n) for n in range(1, 9)]
        assert items[88]["codes"][6] == {"code": "7", "meaning": "Death of patient"}
        assert v4.json()["version"] == "4.0" and v4.json()["current"] is True
        every = await svc.client.get("/api/v1/sact/schemas", headers=headers)
        assert every.json()["current"] == "4.0"
        assert [s["version"] for s in every.json()["versions"]] == ["4.0", "3.0"]
        assert (await svc.client.get("/api/v1/sact/schemas/v3.0", headers=headers)).json()["title"] == "SACT v3.0"
        missing = await svc.client.get("/api/v1/sact/schemas/2", headers=headers)
        assert missing.status_code == 404 and "4.0, 3.0" in missing.json()["detail"]
        assert (await svc.client.get("/api/v1/sact/schemas/4")).status_code == 401
        assert json.dumps(v4.json())  # plain JSON all through


async def test_a_problem_in_the_longest_named_column_is_reported_not_a_failed_submission(stack: TestStack) -> None:
    """PROFESSIONAL_REGISTRATION_ENTRY_IDENTIFIER_CARE_PROFESSIONAL_INITIATING_TREATMENT is 81 characters: its
    problem is stored under its name like any other (the problems' field was 60 wide, and the submission failed)."""
    rng = random.Random(12)
    plan = TrustPlan(cdf_patients=0, routine_patients=2)
    data = sact_file(build_trust(TRUST, plan, rng).courses, SACT_V4, plan.as_of).decode()
    header, first, *_ = data.splitlines()
    longest = max(SACT_V4.headers, key=len)
    cells = first.split(",")
    cells[SACT_V4.headers.index(longest)] = "x" * 33  # one longer than the item's 32
    async with stack.service("cdf", lapse_sweep_interval_s=0) as svc:
        await load_seed_list(svc.client, stack)
        posted = await post_csv(svc, stack, f"{header}\n{','.join(cells)}\n".encode(), "longest-column")
        done = await processed(svc.client, stack, posted.json()["id"])
        assert (done["rows_accepted"], done["rows_rejected"]) == (0, 1)
        assert [(p["row"], p["field"]) for p in done["report"]] == [(1, longest)]
