import time

import jwt
import pytest

from casework.auth import Unauthorised, decode_token, mint_token
from casework.settings import DEV_TOKEN_ISSUER, ServiceSettings

SETTINGS = ServiceSettings(jwt_secret="a-test-secret-of-at-least-32-bytes!!", commissioner_orgs=["X24"])


def test_round_trip_and_commissioner_flag() -> None:
    principal = decode_token(SETTINGS, mint_token(SETTINGS, "u1", "rrv", ["clinician"]))
    assert (principal.sub, principal.org, principal.roles) == ("u1", "RRV", frozenset({"clinician"}))
    assert not principal.is_commissioner
    assert principal.can_see("RRV") and principal.can_see("RRV03") and not principal.can_see("RTH")
    assert decode_token(SETTINGS, mint_token(SETTINGS, "u2", "X24", [])).can_see("RTH")


def test_expired_forged_and_incomplete_tokens_are_refused() -> None:
    with pytest.raises(Unauthorised, match="expired"):
        decode_token(SETTINGS, mint_token(SETTINGS, "u", "RRV", [], ttl_s=-10))
    forged = mint_token(ServiceSettings(jwt_secret="another-secret-of-at-least-32-bytes!"), "u", "RRV", [])
    with pytest.raises(Unauthorised, match="invalid"):
        decode_token(SETTINGS, forged)
    unsigned = jwt.encode({"sub": "u", "org": "RRV", "roles": [], "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(Unauthorised):
        decode_token(SETTINGS, unsigned)
    claims = {"sub": "u", "roles": [], "exp": time.time() + 60, "iss": DEV_TOKEN_ISSUER, "aud": SETTINGS.jwt_audience}
    no_org = jwt.encode(claims, "a-test-secret-of-at-least-32-bytes!!", algorithm="HS256")
    with pytest.raises(Unauthorised, match="org"):
        decode_token(SETTINGS, no_org)


def test_a_token_seen_before_still_expires_and_other_settings_check_it_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = mint_token(SETTINGS, "u3", "RRV", ["clinician"], ttl_s=60)
    assert decode_token(SETTINGS, token).sub == "u3"
    assert decode_token(SETTINGS, token).sub == "u3"  # remembered
    other = ServiceSettings(jwt_secret="another-secret-of-at-least-32-bytes!")
    with pytest.raises(Unauthorised, match="invalid"):
        decode_token(other, token)  # a service with another key does not reuse the verdict
    with pytest.raises(Unauthorised, match="invalid"):
        decode_token(ServiceSettings(jwt_secret=SETTINGS.jwt_secret, jwt_audience="ifr"), token)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorised, match="expired"):
        decode_token(SETTINGS, token)


def test_a_dev_token_must_name_the_platform_audience_and_the_dev_issuer() -> None:
    now = time.time()
    base = {"sub": "u", "org": "RRV", "roles": ["clinician"], "exp": now + 60, "iss": DEV_TOKEN_ISSUER}
    secret = SETTINGS.jwt_secret.get_secret_value()
    for claims, problem in (
        ({**base, "aud": "urn:another:api"}, "(?i)audience"),
        ({**base, "aud": SETTINGS.jwt_audience, "iss": "someone-else"}, "(?i)issuer"),
        (base, "aud"),
    ):
        with pytest.raises(Unauthorised, match=problem):
            decode_token(SETTINGS, jwt.encode(claims, secret, algorithm="HS256"))


def test_without_a_dev_key_dev_tokens_are_refused_and_production_refuses_one() -> None:
    token = mint_token(SETTINGS, "u", "RRV", ["clinician"])
    with pytest.raises(Unauthorised, match="not accepted"):
        decode_token(ServiceSettings(), token)
    production = ServiceSettings(environment="production", jwt_secret=SETTINGS.jwt_secret)
    with pytest.raises(Unauthorised, match="not accepted"):  # the guard refuses to start; nothing accepts one
        decode_token(production, token)
    with pytest.raises(RuntimeError, match="ENVIRONMENT=production"):
        mint_token(production, "u", "RRV", ["clinician"])
