import time

import jwt
import pytest

from casework.auth import Unauthorised, decode_token, mint_token
from casework.settings import ServiceSettings

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
    claims = {"sub": "u", "roles": [], "exp": time.time() + 60}
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
