"""Service-to-service reads: a service served on its port, called with a service token."""

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


async def test_unreachable_service_is_a_service_call_failure(stack: TestStack) -> None:
    caller = ServiceClient(
        stack.settings_for(load_definition("ifr")), stack.layout.service_url("contract"), timeout_s=2
    )
    with pytest.raises(ServiceCallFailed):
        await caller.get_json("/health/live")
