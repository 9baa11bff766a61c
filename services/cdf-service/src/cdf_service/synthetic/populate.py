"""Loading synthetic data into a running CDF service over its public API (for `make demo`)."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from casework.auth import mint_token
from casework.settings import ServiceSettings
from cdf_service.synthetic.national import SyntheticTrust, TrustPlan, build_trust
from cdf_service.synthetic.sact_files import write_sact_csv
from cdf_service.use_cases.list_loader import SEED_LIST


class Api:
    def __init__(self, base_url: str, jwt_secret: str) -> None:
        self.settings = ServiceSettings(jwt_secret=SecretStr(jwt_secret))
        self.http = httpx.Client(base_url=f"{base_url.rstrip('/')}/api/v1", timeout=120)

    def auth(self, org: str, role: str) -> dict[str, str]:
        token = mint_token(self.settings, f"demo-{role}", org, [role])
        return {"Authorization": f"Bearer {token}"}

    def ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return response.json()


def populate(base_url: str, jwt_secret: str, trusts: Sequence[str], plan: TrustPlan, seed: int = 1) -> dict[str, Any]:
    """List, clinicians, approvals, then each trust's SACT file; waits for processing. Safe to repeat."""
    api = Api(base_url, jwt_secret)
    rng = random.Random(seed)
    summary: dict[str, Any] = {"list": api.ok(_import_list(api))}
    seen: set[str] = set()
    for trust in trusts:
        synthetic = build_trust(trust, plan, rng, seen)
        _clinicians(api, synthetic)
        decided = [_apply(api, trust, body) for body in synthetic.applications()]
        submission = _sact(api, synthetic, plan, rng)
        summary[trust] = {"applications": len(decided), "sact": submission}
    return summary


def _import_list(api: Api) -> httpx.Response:
    headers = {**api.auth("X24", "cdf_manager"), "Content-Type": "text/csv"}
    return api.http.post("/cdf/list/import", content=SEED_LIST.read_bytes(), headers=headers)


def _clinicians(api: Api, synthetic: SyntheticTrust) -> None:
    for c in synthetic.clinicians:
        body = {"trust_ods": c.trust, "gmc_number": c.gmc, "name": c.name, "email": c.email}
        made = api.http.post("/cdf/clinicians", json=body, headers=api.auth(c.trust, "clinician"))
        if made.status_code == 409:
            continue  # registered by an earlier run
        registration = api.ok(made)
        lead = {**api.auth(c.trust, "trust_cdf_lead"), "If-Match": made.headers["ETag"]}
        api.ok(api.http.post(f"/cdf/clinicians/{registration['id']}/confirm", headers=lead))


def _apply(api: Api, trust: str, body: dict[str, Any]) -> str:
    made = api.http.post("/cdf/applications", json=body, headers=api.auth(trust, "clinician"))
    return "duplicate" if made.status_code == 409 else str(api.ok(made)["status"])


def _sact(api: Api, synthetic: SyntheticTrust, plan: TrustPlan, rng: random.Random) -> dict[str, Any]:
    buffer = io.StringIO()
    write_sact_csv(buffer, synthetic.courses, plan.as_of, rng)
    params = {"provider_ods": synthetic.trust, "period": plan.as_of.strftime("%Y-%m"), "submission_id": "demo-1"}
    headers = {**api.auth(synthetic.trust, "provider_system"), "Content-Type": "text/csv"}
    submitted = api.ok(api.http.post("/sact/submissions", params=params, content=buffer.getvalue(), headers=headers))
    deadline = time.monotonic() + 300
    while submitted["status"] not in ("processed", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        submitted = api.ok(api.http.get(f"/sact/submissions/{submitted['id']}", headers=headers))
    return {k: submitted[k] for k in ("id", "status", "rows_total", "rows_rejected", "matched")}
