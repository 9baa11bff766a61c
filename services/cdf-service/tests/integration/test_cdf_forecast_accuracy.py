"""GET /cdf/forecasts/accuracy and its chart over a backtest stored by `python -m cdf_service.backtest --store`,
and the forecaster's band taken from the latest stored calibration (a database of its own, so no other
test's forecasts see these backtests)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from cdf_helpers import confirmed_clinician, load_seed_list, next_patient_index
from typer.testing import CliRunner

from cdf_service.backtest.__main__ import app as backtest_cli
from cdf_service.db.backtest_repo import store_backtest
from cdf_service.synthetic.people import nhs_number_for
from embedded_stack.testing import TestStack, eventually

pytestmark = pytest.mark.integration
DATABASE = "cdf_forecast_accuracy"
TRUST = "RA7"


def run_cli(database_url: str) -> dict:
    """A small backtest through the command (its own event loop: run it off the test's)."""
    args = ["--json", "--store", "--trusts", "4", "--entries", "5", "--years", "1", "--workers", "1"]
    result = CliRunner().invoke(backtest_cli, args, env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_accuracy_shows_the_latest_stored_backtest(stack: TestStack) -> None:
    async with stack.service("cdf", database=DATABASE, run_workers=False) as svc:
        analyst = stack.auth("X24", "national_analyst")
        missing = await svc.client.get("/api/v1/cdf/forecasts/accuracy", headers=analyst)
        assert missing.status_code == 404 and "--store" in missing.json()["detail"]
        assert missing.headers["content-type"].startswith("application/problem+json")

        stored = await asyncio.to_thread(run_cli, svc.settings.database_url)
        assert set(stored["months"]) == {f"M{m}" for m in range(1, 12)} and stored["id"] > 0

        got = await svc.client.get("/api/v1/cdf/forecasts/accuracy", headers=analyst)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["id"] == stored["id"] and body["years"] == stored["years"] == ["2025/26"]
        assert body["months"] == stored["months"] and body["pairs"] == stored["pairs"]
        assert body["data"]["fingerprint"] == stored["data"]["fingerprint"]
        assert body["data"]["generator"] == "cdf_service.backtest.history" and body["data"]["trusts"] == 4
        assert body["calibration"] == stored["calibration"]

        chart = await svc.client.get(body["chart"], headers=analyst)
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        for name, month in body["months"].items():
            assert f'class="model" data-month="{name}" data-value="{month["model_wape"]:.4f}"' in chart.text
            assert f'class="coverage" data-month="{name}" data-value="{month["coverage_p10_p90"]:.4f}"' in chart.text

        clinician = await svc.client.get("/api/v1/cdf/forecasts/accuracy", headers=stack.auth(TRUST, "clinician"))
        assert clinician.status_code == 403


async def test_the_forecaster_takes_its_band_from_the_latest_backtest(stack: TestStack) -> None:
    async def forecast(svc) -> dict | None:  # type: ignore[no-untyped-def]
        got = await svc.client.get(
            "/api/v1/cdf/forecasts",
            params={"provider": TRUST, "entry_id": "CDF-OLAP-OV-MAINT"},
            headers=stack.auth("X24", "finance_lead"),
        )
        items = got.json()["items"]
        return items[0] if items else None

    settings = {"database": DATABASE, "lapse_sweep_interval_s": 0, "forecast_interval_s": 0.1}
    async with stack.service("cdf", **settings) as svc:
        await load_seed_list(svc.client, stack)
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        body = {
            "nhs_number": nhs_number_for(next_patient_index()),
            "date_of_birth": "1960-01-01",
            "provider_ods": TRUST,
            "entry_id": "CDF-OLAP-OV-MAINT",
            "clinician_gmc": gmc,
            "answers": {},
            "planned_start": (date.today() + timedelta(days=7)).isoformat(),
            "consent_confirmed": True,
        }
        entry = (
            await svc.client.get("/api/v1/cdf/list/CDF-OLAP-OV-MAINT", headers=stack.auth(TRUST, "clinician"))
        ).json()
        body["answers"] = {c["code"]: True for c in entry["criteria"]}
        made = await svc.client.post(
            "/api/v1/cdf/applications",
            json=body,
            headers={**stack.auth(TRUST, "clinician"), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert made.json()["status"] == "approved", made.text
        first = await eventually(lambda: forecast(svc), within=30, interval=0.2)
        assert Decimal(first["lower"]) < Decimal(first["outturn"]) < Decimal(first["upper"])  # the normal band
        # A calibration that puts both ends of the band on the forecast itself, for every month.
        async with svc.runtime.unit_of_work() as uow:
            narrow = {
                "months": {},
                "years": [],
                "pairs": 0,
                "history_seconds": 0,
                "seconds": 1,
                "data": {"generator": "a test"},
                "calibration": {str(m): [0.0, 0.0] for m in range(13)},
            }
            await store_backtest(uow.session, narrow)
            await uow.commit()

    # a new process (a new runtime, so nothing kept) recomputes the pair with the stored calibration
    async with stack.service("cdf", **settings) as svc:
        await svc.client.post(
            "/api/v1/cdf/applications",
            json={**body, "nhs_number": nhs_number_for(next_patient_index())},
            headers={**stack.auth(TRUST, "clinician"), "Idempotency-Key": str(uuid.uuid4())},
        )

        async def narrowed() -> dict | None:
            found = await forecast(svc)
            return found if found and found["lower"] == found["upper"] else None

        found = await eventually(narrowed, within=30, interval=0.2)
        assert Decimal(found["lower"]) == Decimal(found["outturn"]) > 0
