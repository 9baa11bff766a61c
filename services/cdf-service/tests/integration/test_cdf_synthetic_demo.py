"""The demo loader drives a running service over HTTP: list, clinicians, approvals, SACT, matching."""

from __future__ import annotations

import asyncio

import pytest

from cdf_service.synthetic.national import TrustPlan
from cdf_service.synthetic.populate import populate
from embedded_stack.testing import TestStack

pytestmark = pytest.mark.integration


async def test_demo_populate_loads_a_running_service(stack: TestStack) -> None:
    async with stack.service("cdf", database="cdf_demo", listen=True, lapse_sweep_interval_s=0):
        base = stack.layout.service_url("cdf")
        secret = stack.layout.secrets()["jwt_secret"]
        plan = TrustPlan(cdf_patients=12, routine_patients=20)
        summary = await asyncio.to_thread(populate, base, secret, ("RBV", "RTD"), plan, 3)
        assert summary["list"]["created"]  # a fresh database: every entry created
        for trust in ("RBV", "RTD"):
            sact = summary[trust]["sact"]
            assert sact["status"] == "processed" and sact["rows_rejected"] == 0 and sact["rows_total"] > 50
            assert sact["matched"]["pairs"] > 0
        again = await asyncio.to_thread(populate, base, secret, ("RBV",), plan, 3)  # safe to repeat
        assert again["list"]["unchanged"] and not again["list"]["created"]
