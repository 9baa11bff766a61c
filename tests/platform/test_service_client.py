"""Service-to-service reads: a service served on its port, called with its own client-credentials token
from the OpenID provider (mapped to the `service` role), never the dev key."""

import jwt
import pytest

from casework.service_client import ServiceCallFailed, ServiceClient
from casework.services import load_definition
from embedded_stack.testing import TestStack


async def test_service_token_reaches_another_service_over_http(stack: TestStack) -> None:
    async with stack.service("cdf", listen=True) as cdf:
        caller = ServiceClient(stack.settings_for(load_definition("ifr")), stack.layout.service_url("cdf"))
        assert (await caller.get_json("/health/live"))["status"] == "ok"
        # the service role is not admin: an admin-only path refuses it, and the failure is explicit
        with pytest.raises(ServiceCallFailed, match="403"):
            await caller.get_json("/admin/dead-letters")
        assert cdf.settings.port == int(stack.layout.service_url("cdf").rsplit(":", 1)[1])


async def test_the_caller_authenticates_with_a_provider_token_not_the_dev_key(stack: TestStack) -> None:
    settings = stack.settings_for(load_definition("notification"), jwt_secret=None)  # no dev key to fall back on
    assert settings.oidc_client_id == "notification-service"
    caller = ServiceClient(settings, stack.layout.service_url("ifr"))
    token = await caller._bearer()
    header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256" and claims["iss"] == stack.oidc.issuer and claims["sub"] == "notification-service"
    assert await caller._bearer() == token  # kept, not fetched per call
    async with stack.service("ifr", database="ifr_service_client", listen=True, run_workers=False):
        # an authenticated read: the provider's token maps to the `service` role, which sees every case
        assert (await caller.get_json("/api/v1/ifr/requests"))["items"] == []


async def test_unreachable_service_is_a_service_call_failure(stack: TestStack) -> None:
    caller = ServiceClient(
        stack.settings_for(load_definition("ifr")), stack.layout.service_url("contract"), timeout_s=2
    )
    with pytest.raises(ServiceCallFailed):
        await caller.get_json("/health/live")
