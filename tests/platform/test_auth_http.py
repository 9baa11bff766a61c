"""Auth over HTTP: no/expired/forged token 401, wrong role 403, another organisation's record 404."""

import jwt
from samples import APPLICATION, prepare_cdf
from sqlalchemy import func, select

from embedded_stack.testing import TestStack


async def test_token_checks_and_organisation_rule(stack: TestStack) -> None:
    async with stack.service("cdf", database="cdf_auth", run_workers=False) as cdf:
        await prepare_cdf(cdf.client, stack)
        url = "/api/v1/cdf/applications"
        assert (await cdf.client.post(url, json=APPLICATION)).status_code == 401
        expired = {"Authorization": f"Bearer {stack.token('u', 'RRV', 'clinician', ttl_s=-60)}"}
        response = await cdf.client.post(url, json=APPLICATION, headers=expired)
        assert response.status_code == 401 and "expired" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
        forged_token = jwt.encode(
            {"sub": "u", "org": "RRV", "roles": ["clinician"], "exp": 2_000_000_000},
            "not-the-platform-secret-but-long-enough",
            algorithm="HS256",
        )
        forged = await cdf.client.post(url, json=APPLICATION, headers={"Authorization": f"Bearer {forged_token}"})
        assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"

        wrong_role = await cdf.client.post(url, json=APPLICATION, headers=stack.auth("RRV", "panel_member"))
        assert wrong_role.status_code == 403

        other_trust = await cdf.client.post(url, json=APPLICATION, headers=stack.auth("RTH", "clinician"))
        assert other_trust.status_code == 404  # may not act for another organisation

        created = await cdf.client.post(url, json=APPLICATION, headers=stack.auth("RRV", "clinician"))
        assert created.status_code == 201
        record = f"{url}/{created.json()['id']}"
        assert (await cdf.client.get(record, headers=stack.auth("RTH", "clinician"))).status_code == 404
        assert (await cdf.client.get(record, headers=stack.auth("RRV", "trust_pharmacist"))).status_code == 200
        assert (await cdf.client.get(record, headers=stack.auth("X24", "cdf_manager"))).status_code == 200


async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(stack: TestStack) -> None:
    async with stack.service("cdf", database="cdf_auth", run_workers=False) as cdf:
        outbox = cdf.runtime.tables.outbox
        async with cdf.runtime.sessions() as session:
            before = await session.scalar(select(func.count()).select_from(outbox))
        bad = {**APPLICATION, "nhs_number": "9434765918", "date_of_birth": "2999-01-01"}
        response = await cdf.client.post("/api/v1/cdf/applications", json=bad, headers=stack.auth("RRV", "clinician"))
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in response.json()["errors"]} == {"nhs_number", "date_of_birth"}
        malformed = await cdf.client.post(
            "/api/v1/cdf/applications",
            content=b"{not json",
            headers={**stack.auth("RRV", "clinician"), "content-type": "application/json"},
        )
        assert malformed.status_code == 422
        async with cdf.runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(outbox)) == before
