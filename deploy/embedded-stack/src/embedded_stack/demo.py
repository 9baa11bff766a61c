"""`make demo`: fill a running stack with a believable picture, through the services' public APIs only.

Order matters: contracts and budget lines first (for every financial year the approvals' planned
starts fall in), so the CDF approvals and IFR decisions that follow land on budget lines as
commitments (contract-service learns of them from events); then the CDF national list, clinicians,
approvals and a SACT month per trust (cdf-service's own synthetic loader), which give
contract-service its forecasts; then IFR requests at every stage of the workflow.
Running it again adds nothing twice: existing contracts and lines are reused, CDF refuses duplicate
applications, and IFR requests are only made while the demo's own ones are missing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from casework import clock
from casework.auth import mint_token
from casework.financial_year import financial_year_of, fy_label, fy_start_year
from casework.identifiers import nhs_number_check_digit
from casework.settings import ServiceSettings
from cdf_service.synthetic.national import TRUSTS, TrustPlan
from cdf_service.synthetic.populate import populate
from ifr_service.api.examples import APPLICATION_EXAMPLE

# Each demo trust's excluded-drug budget lines (one category line per kind). With the default synthetic
# data the CDF line leaves one trust within budget, one near it and one past the at-risk margin.
BUDGET_LINES = (
    {"kind": "cdf", "category": "cdf", "line_name": "Cancer Drugs Fund", "budget": "800000.00"},
    {"kind": "high_cost_drug", "category": "ifr", "line_name": "High-cost drugs (IFR)", "budget": "250000.00"},
    {"kind": "device", "category": "devices", "line_name": "High-cost devices", "budget": "100000.00"},
)
PANEL_MEMBERS = [
    {"member_id": "demo-chair", "name": "Dr Demo Chair", "role": "chair", "voting": True},
    {"member_id": "demo-clinician", "name": "Dr Demo Clinician", "role": "clinician", "voting": True},
    {"member_id": "demo-ph", "name": "Demo Public Health", "role": "public_health", "voting": True},
    {"member_id": "demo-lay", "name": "Demo Lay Member", "role": "lay_member", "voting": True},
]
REASONS = {
    "exceptionality": "a variant seen in under 1 in 10,000 patients sets the patient apart",
    "clinical_effectiveness": "case series evidence of response",
    "value_for_money": "cost proportionate to the expected benefit",
}
# The IFR requests the demo makes: how far each goes through the workflow.
IFR_STAGES = ("submitted", "acknowledged", "screening", "listed", "approved", "declined")
IFR_TRUST = "RRV"


class Platform:
    """Bearer tokens for any organisation and role, and one HTTP client per service."""

    def __init__(self, urls: dict[str, str], jwt_secret: str) -> None:
        self.urls = urls
        self.jwt_secret = jwt_secret
        self._settings = ServiceSettings(jwt_secret=SecretStr(jwt_secret))
        self._clients = {name: httpx.Client(base_url=f"{url}/api/v1", timeout=60) for name, url in urls.items()}

    def auth(self, org: str, role: str, sub: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self._settings, sub or f'demo-{role}', org, [role])}"}

    def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self._clients[service].request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{service} {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def load_demo(
    urls: dict[str, str],
    jwt_secret: str,
    trusts: int = 3,
    plan: TrustPlan | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Contracts, CDF and IFR data for the first `trusts` demo trusts; returns what was made."""
    platform = Platform(urls, jwt_secret)
    chosen = TRUSTS[:trusts]
    plan = plan or TrustPlan(cdf_patients=30, routine_patients=150)
    years = demo_years(plan)
    try:
        echo(f"contracts and budget lines for {', '.join(chosen)} ({', '.join(years)}) ...")
        contracts = {trust: [ensure_contract(platform, trust, year) for year in years] for trust in chosen}
        echo("CDF list, clinicians, approvals and a SACT month per trust (a minute or two) ...")
        cdf = load_cdf(platform, chosen, plan)
        echo("IFR requests at each stage ...")
        ifr = ensure_ifr_requests(platform)
        return {"contracts": contracts, "cdf": cdf, "ifr": ifr}
    finally:
        platform.close()


def demo_years(plan: TrustPlan) -> list[str]:
    """The financial years from the earliest planned start the synthetic data can have to today: a
    CDF approval is committed in its planned start's year, and the history reaches back before April
    for most of the year."""
    first = fy_start_year(financial_year_of(plan.as_of - timedelta(days=plan.history_days)).financial_year)
    last = fy_start_year(financial_year_of(clock.today()).financial_year)
    return [fy_label(year) for year in range(first, last + 1)]


def load_cdf(platform: Platform, trusts: Sequence[str], plan: TrustPlan) -> dict[str, Any]:
    """cdf-service's synthetic data for the trusts that have no applications yet. (A stopped
    treatment may rightly be applied for again, so loading a trust twice would add applications.)"""
    lead = platform.auth("X24", "cdf_manager")
    fresh = [
        trust
        for trust in trusts
        if not platform.call("cdf", "GET", "/cdf/applications", params={"provider": trust, "limit": 1}, headers=lead)[
            "items"
        ]
    ]
    loaded = populate(platform.urls["cdf"], platform.jwt_secret, fresh, plan) if fresh else {}
    return loaded | {trust: "already loaded" for trust in trusts if trust not in fresh}


def ensure_contract(platform: Platform, trust: str, year: str) -> dict[str, Any]:
    """The `year` contract for `trust` with the demo budget lines (reused when already there)."""
    finance = platform.auth("X24", "contract_manager")
    found = platform.call("contract", "GET", "/contracts", params={"provider": trust, "fy": year}, headers=finance)
    if found["items"]:
        contract = found["items"][0]
    else:
        body = {
            "provider_ods": trust,
            "financial_year": year,
            "title": f"{trust} NHS Standard Contract {year}",
            "contract_lead_email": f"{trust.lower()}.contracts@nhs.net",
            "terms": _terms(),
        }
        contract = platform.call("contract", "POST", "/contracts", json=body, headers=finance)
    lines_path = f"/contracts/{contract['id']}/budget-lines"
    have = {line["line_name"] for line in platform.call("contract", "GET", lines_path, headers=finance)["items"]}
    for line in BUDGET_LINES:
        if line["line_name"] not in have:
            platform.call("contract", "POST", lines_path, json=line, headers=finance)
    return {"id": contract["id"], "financial_year": year, "budget_lines": len(BUDGET_LINES)}


def _terms() -> dict[str, Any]:
    def line(code: str, description: str, price: str) -> dict[str, Any]:
        return {"code": code, "hub": "NW", "description": description, "price": price, "activity_plan": ["40"] * 12}

    return {
        "schedules": [{"hub": "NW", "hub_name": "North West specialised commissioning"}],
        "service_lines": [
            line("CARD01", "Adult cardiac surgery", "9500.00"),
            line("ONC01", "Specialised cancer chemotherapy delivery", "420.00"),
            {**line("DRUGS", "Excluded drugs (pass-through)", "1.00"), "category": "excluded_drugs"},
        ],
    }


def ensure_ifr_requests(platform: Platform) -> dict[str, str]:
    """One IFR request per stage in IFR_STAGES at the demo trust; skipped when the demo made them before."""
    officer = platform.auth("X24", "ifr_officer", sub="demo-officer")
    made = platform.call("ifr", "GET", "/ifr/requests", params={"trust": IFR_TRUST, "limit": 500}, headers=officer)
    if any(case.get("treatment_name") == _demo_treatment() for case in made.get("items", [])):
        return {"skipped": "the demo's IFR requests are already there"}
    panel = platform.call(
        "ifr",
        "POST",
        "/ifr/panels",
        json={
            "kind": "ifr",
            "name": "Demo IFR panel",
            "region": "Y56",  # London: the demo trust RRV's region
            "meeting_date": clock.today().isoformat(),
            "members": PANEL_MEMBERS,
        },
        headers=officer,
    )
    return {stage: _walk(platform, stage, index, panel["id"])["reference"] for index, stage in enumerate(IFR_STAGES)}


def _demo_treatment() -> str:
    return f"{APPLICATION_EXAMPLE['treatment']['name']} (demo)"


def _walk(platform: Platform, stage: str, index: int, panel_id: str) -> dict[str, Any]:
    """Draft and submit one request, then take it through the workflow up to `stage`."""
    clinician = platform.auth(IFR_TRUST, "clinician", sub="demo-clinician")
    officer = platform.auth("X24", "ifr_officer", sub="demo-officer")
    application = copy.deepcopy(APPLICATION_EXAMPLE)
    application["patient"]["nhs_number"] = _test_nhs_number(index)
    application["treatment"]["name"] = _demo_treatment()
    case = platform.call("ifr", "POST", "/ifr/requests", json=application, headers=clinician)
    steps: list[tuple[str, dict[str, Any] | None, dict[str, str]]] = [("submit", None, clinician)]
    present = [m["member_id"] for m in PANEL_MEMBERS]
    steps += [
        ("acknowledge", None, officer),
        ("screen", None, officer),
        ("list-for-panel", {"panel_id": panel_id}, officer),
        (
            "decide",
            {"outcome": "approved" if stage == "approved" else "declined", "reasons": REASONS, "present": present},
            officer,
        ),
    ]
    depth = {"submitted": 1, "acknowledged": 2, "screening": 3, "listed": 4}.get(stage, 5)
    for action, body, headers in steps[:depth]:
        case = platform.call(
            "ifr",
            "POST",
            f"/ifr/requests/{case['id']}/{action}",
            json=body,
            headers={**headers, "If-Match": f'W/"{case["version"]}"'},
        )
    return case


def _test_nhs_number(index: int) -> str:
    """A valid NHS number in the 999 test range (never a real patient), distinct per demo request."""
    candidate = 990_000 + index * 7
    while (check := nhs_number_check_digit(f"999{candidate:06d}")) is None:
        candidate += 1
    return f"999{candidate:06d}{check}"
