"""The quarterly return on a seeded dataset equals counts computed independently here.

The dataset lives in its own database so other tests' cases do not count. Every case below goes
through the real API; the expected figures are worked out from the scenario table, not by the
service's aggregation code.
"""

import csv
import io
from collections import Counter
from datetime import date, timedelta

from ifr_http import MEMBERS, REASONS, REVIEW_MEMBERS, URGENT, Ifr, application

from embedded_stack.testing import TestStack
from ifr_service.use_cases.workflow import today

EVERYONE = [m["member_id"] for m in MEMBERS]
REVIEWERS = [m["member_id"] for m in REVIEW_MEMBERS]

# (trust, treatment, what happens) — all this quarter, except that the last one was received in the
# previous quarter (by post) and is decided now.
SCENARIOS = [
    ("RRV", "Drug A", "received"),
    ("RGT", "Drug A", "received"),
    ("RRV", "Drug A", "screened_out:cohort"),
    ("RRV", "Drug B", "screened_out:incomplete+no_prospect_of_exceptionality"),
    ("RGT", "Drug B", "redirected"),
    ("RRV", "Drug A", "approved"),
    ("RGT", "Drug A", "approved_with_conditions"),
    ("RGT", "Drug B", "declined"),
    ("RRV", "Drug B", "reconsidered"),  # declined, then reconsidered and approved
    ("RRV", "Drug A", "review_upheld"),  # approved, review upholds it
    ("RGT", "Drug A", "review_flawed"),  # declined, review finds the process flawed
    ("RRV", "Drug B", "withdrawn"),
    ("RRV", "Drug A", "old_approved"),
    ("RRV", "Drug A", "chairs_action_ratified"),  # urgent: approved by chair's action, ratified
    ("RGT", "Drug B", "chairs_action_overturned"),  # urgent: approved by chair's action, the panel declines
]

# What each scenario adds to the return's counters (worked out by hand from the process).
CONTRIBUTES = {
    "received": {"received": 1},
    "screened_out:cohort": {"received": 1, "screened_out": 1},
    "screened_out:incomplete+no_prospect_of_exceptionality": {"received": 1, "screened_out": 1},
    "redirected": {"received": 1, "redirected": 1},
    "approved": {"received": 1, "heard_by_panel": 1, "approved": 1},
    "approved_with_conditions": {"received": 1, "heard_by_panel": 1, "approved_with_conditions": 1},
    "declined": {"received": 1, "heard_by_panel": 1, "declined": 1},
    "reconsidered": {
        "received": 1,
        "heard_by_panel": 2,
        "declined": 1,
        "approved": 1,
        "reconsiderations_requested": 1,
    },
    "review_upheld": {"received": 1, "heard_by_panel": 1, "approved": 1, "reviews_requested": 1, "reviews_upheld": 1},
    "review_flawed": {"received": 1, "heard_by_panel": 1, "declined": 1, "reviews_requested": 1, "reviews_flawed": 1},
    "withdrawn": {"received": 1, "withdrawn": 1},
    "old_approved": {"heard_by_panel": 1, "approved": 1},
    "chairs_action_ratified": {"received": 1, "decided_by_chairs_action": 1, "approved": 1, "ratified": 1},
    "chairs_action_overturned": {
        "received": 1,
        "decided_by_chairs_action": 1,
        "approved": 1,
        "overturned": 1,
        "heard_by_panel": 1,
        "declined": 1,
    },
}


def quarter_of(day: date) -> tuple[str, date]:
    q = (day.month - 1) // 3 + 1
    return f"{day.year}-Q{q}", date(day.year, 3 * q - 2, 1)


async def seed(ifr: Ifr, quarter_start: date) -> None:
    panel = await ifr.panel()
    review_panel = await ifr.panel("review")

    async def decide(case: dict, outcome: str) -> dict:
        listed = await ifr.act(case, "list-for-panel", {"panel_id": panel["id"]})
        extra = {"conditions": ["report at 12 weeks"]} if outcome == "approved_with_conditions" else {}
        return await ifr.act(listed, "decide", {"outcome": outcome, "reasons": REASONS, "present": EVERYONE, **extra})

    async def review(case: dict, outcome: str) -> dict:
        requested = await ifr.act(case, "request-review", {"grounds": "evidence not considered"})
        listed = await ifr.act(requested, "list-for-panel", {"panel_id": review_panel["id"]})
        return await ifr.act(listed, "decide-review", {"outcome": outcome, "reasons": "x", "present": REVIEWERS})

    async def by_chairs_action(case: dict, then: str) -> None:
        chair = {"outcome": "approved", "reasons": REASONS, "urgent_reason": "rapid deterioration", "chair": "chair-a"}
        case = await ifr.act(case, "chairs-action", {**chair, "panel_id": panel["id"]})
        case = await ifr.act(case, "list-for-panel", {"panel_id": panel["id"]})
        body = {"present": EVERYONE} if then == "ratify" else {"outcome": "declined", "reasons": REASONS}
        await ifr.act(case, then, {**body, "present": EVERYONE})

    for trust, treatment, what in SCENARIOS:
        urgency = URGENT if what.startswith("chairs_action") else {}
        data = application(clinician={"trust_ods": trust}, treatment={"name": treatment}, **urgency)
        ifr.clinician = ifr.stack.auth(trust, "clinician")
        if what == "old_approved":
            case = await ifr.submitted(data, received_on=quarter_start - timedelta(days=45))
            case = await ifr.act(await ifr.act(case, "acknowledge"), "screen")
            await decide(case, "approved")
            continue
        case = await ifr.submitted(data)
        if what == "received":
            continue
        case = await ifr.act(case, "acknowledge")
        if what == "withdrawn":
            await ifr.act(case, "withdraw", {"reason": "patient moved away"}, headers=ifr.clinician)
            continue
        case = await ifr.act(case, "screen")
        if what.startswith("screened_out:"):
            await ifr.act(case, "screen-out", {"reasons": what.split(":")[1].split("+")})
        elif what == "redirected":
            await ifr.act(case, "redirect", {"reason": "not_nhs_england_responsibility"})
        elif what in ("approved", "approved_with_conditions", "declined"):
            await decide(case, what)
        elif what == "reconsidered":
            case = await decide(case, "declined")
            case = await ifr.act(case, "request-reconsideration", {"new_information": "new scan"})
            case = await ifr.act(case, "list-for-panel", {})  # the same panel by default
            await ifr.act(case, "decide", {"outcome": "approved", "reasons": REASONS, "present": EVERYONE})
        elif what == "review_upheld":
            await review(await decide(case, "approved"), "upheld")
        elif what == "review_flawed":
            await review(await decide(case, "declined"), "flawed")
        elif what.startswith("chairs_action"):
            await by_chairs_action(case, "ratify" if what.endswith("ratified") else "overturn")


def expected_counts(rows: list[tuple[str, str, str]]) -> Counter:
    total: Counter = Counter()
    for _, _, what in rows:
        total.update(CONTRIBUTES[what])
    return total


async def test_quarterly_return_matches_independent_counts(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_report", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        label, start = quarter_of(today())
        await seed(ifr, start)
        analyst = stack.auth("X24", "national_analyst")
        response = await svc.client.get("/api/v1/ifr/reports/quarterly", params={"quarter": label}, headers=analyst)
        assert response.status_code == 200, response.text
        report = response.json()

        totals = expected_counts(SCENARIOS)
        assert {k: v for k, v in report["totals"].items() if v} == dict(totals)
        assert report["screened_out_by_reason"] == {"cohort": 1, "incomplete": 1, "no_prospect_of_exceptionality": 1}
        for section, index in (("by_trust", 0), ("by_treatment", 1)):
            groups = sorted({s[index] for s in SCENARIOS})
            expected = {g: dict(expected_counts([s for s in SCENARIOS if s[index] == g])) for g in groups}
            assert {g: {k: v for k, v in c.items() if v} for g, c in report[section].items()} == expected

        # timeliness: everything this quarter was done on the day, except the case received last quarter
        # a decision letter clock runs from each listing for a decision; an overturned chair's action
        # was listed for ratification only (its letter goes with the overturn)
        decisions = sum(
            CONTRIBUTES[s[2]].get("heard_by_panel", 0) - CONTRIBUTES[s[2]].get("overturned", 0) for s in SCENARIOS
        )
        timely = {
            clock: (row["met"], row["missed"], row["open_overdue"]) for clock, row in report["timeliness"].items()
        }
        assert timely == {
            "acknowledge": (12, 1, 0),  # all acknowledged but the two only received; the old one late
            "triage": (11, 1, 0),  # the withdrawn one's triage was cancelled
            "screening_outcome": (11, 1, 0),
            # first hearings + the reconsideration's own clock + the chair's actions; flawed one reopens
            "panel_decision": (9, 1, 0),
            "decision_letter": (decisions, 0, 0),
            "review_decision": (2, 0, 0),
            "ratification": (2, 0, 0),
        }

        as_csv = await svc.client.get("/api/v1/ifr/reports/quarterly.csv", params={"quarter": label}, headers=analyst)
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert {r["measure"]: int(r["value"]) for r in rows if r["section"] == "totals"} == report["totals"]
        # the deprecated ?format=csv, kept for clients written before the .csv paths, answers the same rows
        legacy = await svc.client.get(
            "/api/v1/ifr/reports/quarterly", params={"quarter": label, "format": "csv"}, headers=analyst
        )
        assert list(csv.DictReader(io.StringIO(legacy.text))) == rows
        bad_quarter = await svc.client.get(
            "/api/v1/ifr/reports/quarterly.csv", params={"quarter": "2026-Q5"}, headers=analyst
        )
        assert bad_quarter.status_code == 422 and bad_quarter.json()["errors"][0]["field"] == "quarter"
        provider = await svc.client.get(
            "/api/v1/ifr/reports/quarterly", params={"quarter": label}, headers=ifr.clinician
        )
        assert provider.status_code == 403
        bad = await svc.client.get("/api/v1/ifr/reports/quarterly", params={"quarter": "2026-Q5"}, headers=analyst)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "quarter"
