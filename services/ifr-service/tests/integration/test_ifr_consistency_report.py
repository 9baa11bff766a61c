"""The decision-consistency report on a seeded dataset: one region's approval rate for one treatment is
set apart, and the report flags that region (and the panel that sits for it) for that treatment and
nothing else; its counts equal counts worked out here from the scenario table, not by the service's code.

Every case goes through the real API, in a database of its own so other tests' cases do not count.
"""

import csv
import io
from collections import Counter
from datetime import date, timedelta

from ifr_http import MEMBERS, REASONS, Ifr, application

from embedded_stack.testing import TestStack
from ifr_service.api.examples import APPLICATION_EXAMPLE
from ifr_service.domain.cohort import treatment_key
from ifr_service.use_cases.workflow import today

EVERYONE = [m["member_id"] for m in MEMBERS]
DRUG_A = ("Examplimab", "3762811000001103")
DRUG_B = ("Otherumab", "3762911000001108")


def key_of(drug: tuple[str, str]) -> str:
    """The treatment as the report groups requests (its code and every request's indication)."""
    return str(treatment_key(drug[1], None, APPLICATION_EXAMPLE["clinical"]["diagnosis_icd10"]))


KEY_A = key_of(DRUG_A)
TRUST_OF = {"Y56": "RRV", "Y59": "RTH", "Y60": "RWE", "Y61": "RGT", None: "RAL"}  # RAL: not mapped
LATE = 45  # calendar days before today: more than the panel's 20 working days

# (region, panel, treatment, approved, declined): every request decided by a panel of its region;
# London has two panels. East of England approves Drug A far less often than the others.
DECIDED = [
    ("Y56", "london-1", DRUG_A, 4, 1),
    ("Y56", "london-2", DRUG_A, 4, 1),
    ("Y59", "south-east", DRUG_A, 8, 2),
    ("Y60", "midlands", DRUG_A, 7, 3),
    ("Y61", "east", DRUG_A, 1, 9),
    ("Y56", "london-1", DRUG_B, 5, 5),
    ("Y59", "south-east", DRUG_B, 6, 4),
    ("Y60", "midlands", DRUG_B, 4, 6),
    ("Y61", "east", DRUG_B, 5, 5),
]
# requests that are not simply decided once: (region, treatment, what)
OTHERS = [
    ("Y61", DRUG_A, "screened_out"),
    ("Y56", DRUG_B, "screened_out"),
    ("Y60", DRUG_A, "screening"),
    ("Y56", DRUG_B, "reconsidered"),  # declined by london-1, then approved on reconsideration
    (None, DRUG_A, "approved"),  # a trust with no region: counted, never tested
]
PANELS = {"london-1": "Y56", "london-2": "Y56", "south-east": "Y59", "midlands": "Y60", "east": "Y61", "other": "Y56"}


async def seed(ifr: Ifr) -> dict[str, str]:
    """The dataset through the API; the panels' ids by their names here."""
    panels = {name: await ifr.panel(region=region) for name, region in PANELS.items()}

    async def screened(region: str | None, drug: tuple[str, str], received_on: date | None = None) -> dict:
        trust = TRUST_OF[region]
        ifr.clinician = ifr.stack.auth(trust, "clinician")
        data = application(clinician={"trust_ods": trust}, treatment={"name": drug[0], "dmd_code": drug[1]})
        case = await ifr.act(await ifr.submitted(data, received_on=received_on), "acknowledge")
        return await ifr.act(case, "screen")

    async def decide(case: dict, panel: str, outcome: str) -> dict:
        listed = await ifr.act(case, "list-for-panel", {"panel_id": panels[panel]["id"]})
        return await ifr.act(listed, "decide", {"outcome": outcome, "reasons": REASONS, "present": EVERYONE})

    for region, panel, drug, approved, declined in DECIDED:
        late = today() - timedelta(days=LATE) if region == "Y61" and drug == DRUG_A else None
        for outcome in ["approved"] * approved + ["declined"] * declined:
            await decide(await screened(region, drug, late), panel, outcome)
    for region, drug, what in OTHERS:
        case = await screened(region, drug)
        if what == "screened_out":
            await ifr.act(case, "screen-out", {"reasons": ["no_prospect_of_exceptionality"]})
        elif what == "reconsidered":
            case = await decide(case, "london-1", "declined")
            case = await ifr.act(case, "request-reconsideration", {"new_information": "new scan"})
            case = await ifr.act(case, "list-for-panel", {})  # the same panel by default
            await ifr.act(case, "decide", {"outcome": "approved", "reasons": REASONS, "present": EVERYONE})
        elif what == "approved":
            await decide(case, "other", "approved")
    return {name: p["id"] for name, p in panels.items()}


def expected() -> tuple[Counter, Counter]:
    """(by (treatment code, region), by (treatment code, panel name)) counts, from the tables above."""
    regions: Counter = Counter()
    panels: Counter = Counter()
    for region, panel, drug, approved, declined in DECIDED:
        for key, counter in (((key_of(drug), region), regions), ((key_of(drug), panel), panels)):
            counter[(*key, "requests")] += approved + declined
            counter[(*key, "approved")] += approved
            counter[(*key, "declined")] += declined
    for region, drug, what in OTHERS:
        regions[(key_of(drug), region, "requests")] += 1
        if what == "screened_out":
            regions[(key_of(drug), region, "screened_out")] += 1
        elif what in ("reconsidered", "approved"):
            panel = "london-1" if what == "reconsidered" else "other"
            regions[(key_of(drug), region, "approved")] += 1
            panels[(key_of(drug), panel, "requests")] += 1
            panels[(key_of(drug), panel, "approved")] += 1
    return regions, panels


def _flattened(rows: list[dict], key: str, code: str, names: dict[str, str]) -> Counter:
    found: Counter = Counter()
    for row in rows:
        group = names.get(row["group"], row["group"]) if key == "panel" else row["group"]
        for measure in ("requests", "screened_out", "approved", "declined"):
            if row[measure]:
                found[(code, group, measure)] = row[measure]
    return found


async def test_the_region_set_apart_is_flagged_and_nothing_else(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_consistency", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        panel_ids = await seed(ifr)
        names = {i: name for name, i in panel_ids.items()}
        analyst = stack.auth("X24", "national_analyst")
        period = {"start": (today() - timedelta(days=90)).isoformat(), "end": today().isoformat()}
        response = await svc.client.get("/api/v1/ifr/reports/consistency", params=period, headers=analyst)
        assert response.status_code == 200, response.text
        report = response.json()

        # the flags: East of England for Drug A, and the one panel that sits for it; nothing else
        flags = [(f["grouping"], f["treatment"], f["group"]) for f in report["flags"]]
        assert flags == [("region", KEY_A, "Y61"), ("panel", KEY_A, panel_ids["east"])]
        region_flag, panel_flag = report["flags"]
        # the request with no region is not among "the others": it is never tested
        others_a = sum(a for r, _, d, a, _ in DECIDED if d == DRUG_A and r != "Y61")
        others_d = sum(n for r, _, d, _, n in DECIDED if d == DRUG_A and r != "Y61")
        assert (region_flag["approved"], region_flag["declined"]) == (1, 9)
        assert (region_flag["others_approved"], region_flag["others_declined"]) == (others_a, others_d)
        assert region_flag["direction"] == "lower" and region_flag["adjusted_p_value"] < 0.05
        assert region_flag["name"] == "East of England" and region_flag["treatment_name"] == DRUG_A[0]
        # the panels' family also holds the panel that decided the unmapped trust's request
        assert (panel_flag["others_approved"], panel_flag["others_declined"]) == (others_a + 1, others_d)
        assert panel_flag["region"] == "Y61"

        # the counts, per treatment, by region and by panel, equal those worked out from the tables
        want_regions, want_panels = expected()
        got_regions: Counter = Counter()
        got_panels: Counter = Counter()
        for t in report["treatments"]:
            got_regions += _flattened(t["by_region"], "region", t["treatment"], names)
            got_panels += _flattened(t["by_panel"], "panel", t["treatment"], names)
        assert got_regions == want_regions
        assert got_panels == want_panels
        total = report["overall"]
        assert total["requests"] == sum(v for k, v in want_regions.items() if k[2] == "requests")
        assert total["approved"] == sum(v for k, v in want_regions.items() if k[2] == "approved")
        assert total["declined"] == sum(v for k, v in want_regions.items() if k[2] == "declined")
        assert total["screened_out"] == 2 and total["undecided"] == 1
        assert report["comparisons"] == {"region": 8, "panel": 10}

        # against the clocks: East's Drug A requests came 45 days ago, so every decision was late
        east_a = next(
            r for t in report["treatments"] if t["treatment"] == KEY_A for r in t["by_region"] if r["group"] == "Y61"
        )
        assert east_a["timeliness"]["panel_decision"]["missed"] == 10
        assert east_a["timeliness"]["panel_decision"]["met"] == 0
        assert east_a["median_working_days_to_decision"] > 20
        london_a = next(
            r for t in report["treatments"] if t["treatment"] == KEY_A for r in t["by_region"] if r["group"] == "Y56"
        )
        assert london_a["timeliness"]["panel_decision"] == {"met": 10, "missed": 0, "open_overdue": 0, "met_pct": 100.0}
        assert london_a["median_working_days_to_decision"] == 0

        # the CSV holds the same figures; the quarterly return links here
        as_csv = await svc.client.get("/api/v1/ifr/reports/consistency.csv", params=period, headers=analyst)
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        value = {(r["treatment"], r["grouping"], r["group"], r["measure"]): r["value"] for r in rows}
        assert value[(KEY_A, "region", "Y61", "declined")] == "9"
        assert value[(KEY_A, "flag:region", "Y61", "others_declined")] == str(others_d)
        quarter = f"{today().year}-Q{(today().month - 1) // 3 + 1}"
        ret = await svc.client.get("/api/v1/ifr/reports/quarterly", params={"quarter": quarter}, headers=analyst)
        link = ret.json()["links"]["consistency"]
        assert link.startswith("/api/v1/ifr/reports/consistency?start=") and "&end=" in link
        assert (await svc.client.get(link, headers=analyst)).status_code == 200

        # who may read it, and problems at the fields
        assert (await svc.client.get("/api/v1/ifr/reports/consistency", headers=ifr.clinician)).status_code == 403
        for params, field in (
            ({"start": "2026-02-30"}, "start"),
            ({"end": "soon"}, "end"),
            ({"start": "2026-06-01", "end": "2026-05-01"}, "start"),
            ({"start": "2010-01-01", "end": "2026-01-01"}, "start"),
            ({"end": "0001-01-01"}, "end"),
            ({"format": "xlsx"}, "format"),
        ):
            bad = await svc.client.get("/api/v1/ifr/reports/consistency", params=params, headers=analyst)
            assert bad.status_code == 422, (params, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert bad.json()["errors"][0]["field"] == field, params
