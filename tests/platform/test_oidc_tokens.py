"""Bearer tokens from the real OpenID provider, verified by every service with the provider's JWKS.

The embedded provider (panva's oidc-provider) signs a persona's token as it would the console's; the
services check signature, issuer, audience and expiry, and map the CIS2-shaped role claims to the
platform's `org` and `roles` by configuration. Tokens for another audience, from another issuer, or
signed with a key the provider never published are refused with 401; a rotated key is picked up
without a restart; a provider that cannot be reached is a 503, not a 500.
"""

import json
import time
import uuid

import jwt
from jwt.algorithms import RSAAlgorithm

from embedded_stack.oidc import API_AUDIENCE, OTHER_AUDIENCE, new_signing_key
from embedded_stack.testing import TestStack

WORKLIST = "/api/v1/ifr/requests"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_with(key: dict, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "rrv-clinician", "iat": now, "exp": now + 300, "aud": API_AUDIENCE, **claims}
    private = RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(payload, private, algorithm="RS256", headers={"kid": key["kid"]})


async def test_a_persona_token_from_the_provider_is_accepted_and_mapped(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_oidc", run_workers=False) as ifr:
        token = stack.oidc.persona_token("rrv-clinician")
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        response = await ifr.client.get(WORKLIST, headers=bearer(token))
        assert response.status_code == 200, response.text
        # mapped from nhsid_nrbac_roles: a clinician of RRV, so another trust's filter finds nothing of theirs
        created = await ifr.client.post(WORKLIST, json={"patient": {"name": "A"}}, headers=bearer(token))
        assert created.status_code == 201, created.text
        assert created.json()["provider_ods"] == "RRV"
        officer_only = await ifr.client.post(
            f"{WORKLIST}/{created.json()['id']}/acknowledge", headers={**bearer(token), "If-Match": 'W/"1"'}
        )
        assert officer_only.status_code == 403  # the clinician role code maps to clinician, not ifr_officer


async def test_wrong_audience_wrong_issuer_and_unknown_key_are_refused(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_oidc", run_workers=False) as ifr:
        for_another_api = stack.oidc.persona_token("ifr-officer", audience=OTHER_AUDIENCE)
        assert jwt.decode(for_another_api, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE
        published = stack.oidc.signing_keys()[0]
        claims = jwt.decode(stack.oidc.persona_token("ifr-officer"), options={"verify_signature": False})
        genuine_but_elsewhere = signed_with(published, **{**claims, "iss": "https://someone-else.example"})
        never_published = signed_with(new_signing_key(), **{**claims, "iss": stack.oidc.issuer})
        for token, why in (
            (for_another_api, "audience"),
            (genuine_but_elsewhere, "issuer"),
            (never_published, "signing key"),
        ):
            response = await ifr.client.get(WORKLIST, headers=bearer(token))
            assert response.status_code == 401, (why, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert why in response.json()["detail"].lower(), response.json()["detail"]
        # the same claims signed with the published key and the right issuer are accepted
        assert (await ifr.client.get(WORKLIST, headers=bearer(signed_with(published, **claims)))).status_code == 200


async def test_a_rotated_key_is_used_without_restarting_and_an_unreachable_provider_is_503(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_oidc", run_workers=False, jwks_refetch_after_s=0.5) as ifr:
        before = stack.oidc.persona_token("ifr-officer")
        assert (await ifr.client.get(WORKLIST, headers=bearer(before))).status_code == 200  # keys now cached
        old_keys = stack.oidc.signing_keys()
        stack.oidc.write_keys([new_signing_key(), *old_keys])  # rotation: sign with the new, still publish the old
        try:
            stack.oidc.restart()
            time.sleep(0.6)  # the refetch guard: a new key id is looked up at most every JWKS_REFETCH_AFTER_S
            after = stack.oidc.persona_token("ifr-officer")
            assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
            assert (await ifr.client.get(WORKLIST, headers=bearer(after))).status_code == 200
            assert (await ifr.client.get(WORKLIST, headers=bearer(before))).status_code == 200
            stack.oidc.stop()
            unknown_kid = signed_with({**new_signing_key(), "kid": uuid.uuid4().hex[:16]}, iss=stack.oidc.issuer)
            time.sleep(0.6)  # past the refetch guard, so the verifier asks the (stopped) provider
            down = await ifr.client.get(WORKLIST, headers=bearer(unknown_kid))
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] and down.headers["content-type"] == "application/problem+json"
            assert (await ifr.client.get(WORKLIST, headers=bearer(after))).status_code == 200  # cached key
        finally:
            stack.oidc.start()


async def test_dev_tokens_still_need_the_platform_audience(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_oidc", run_workers=False) as ifr:
        assert (await ifr.client.get(WORKLIST, headers=stack.auth("X24", "ifr_officer"))).status_code == 200
        secret = stack.layout.secrets()["jwt_secret"]
        now = int(time.time())
        claims = {"sub": "u", "org": "X24", "roles": ["ifr_officer"], "iss": "casework-dev", "exp": now + 60}
        no_aud = jwt.encode(claims, secret, algorithm="HS256")
        other_aud = jwt.encode({**claims, "aud": OTHER_AUDIENCE}, secret, algorithm="HS256")
        for token in (no_aud, other_aud):
            assert (await ifr.client.get(WORKLIST, headers=bearer(token))).status_code == 401
