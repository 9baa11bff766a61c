"""The stored forecast and the completeness report follow approvals and SACT, through the real service."""

from __future__ import annotations

import io
import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from cdf_helpers import confirmed_clinician, load_seed_list, next_patient_index
from sqlalchemy import text

from casework.financial_year import financial_year_of, fy_end
from cdf_service.domain.forecast import forecast_entry
from cdf_service.domain.forecast_inputs import PendingApproval, Treatment
from cdf_service.domain.national_list import Criterion, EntryStatus, ListEntry
from cdf_service.synthetic.national import Course
from cdf_service.synthetic.people import nhs_number_for
from cdf_service.synthetic.sact_files import write_sact_csv
from embedded_stack.testing import TestStack, eventually

pytestmark = pytest.mark.integration
TRUST = "RA7"


async def test_forecast_and_completeness_follow_approvals_and_sact(stack: TestStack) -> None:
    today = date.today()
    entry = ListEntry(
        entry_id=f"CDF-FCST-{uuid.uuid4().hex[:6].upper()}",
        version=1,
        drug_name="Olaparib",
        dmd_id="3762811000001103",
        indication="Test indication for the forecast",
        regimen="Olaparib 300 mg twice daily",
        criteria=(Criterion("C1", "Eligible"),),
        cost_per_cycle=Decimal("1000.00"),
        cycle_length_days=28,
        expected_cycles=6,
        managed_access_start=today - timedelta(days=400),
        managed_access_end=None,
        status=EntryStatus.OPEN,
        effective_from=today - timedelta(days=400),
    )
    async with stack.service("cdf", lapse_sweep_interval_s=0, forecast_interval_s=0.1) as svc:
        await load_seed_list(svc.client, stack)
        admin = stack.auth("X24", "cdf_manager")
        created = await svc.client.post(
            "/api/v1/cdf/list",
            json={
                "entry_id": entry.entry_id,
                "drug_name": entry.drug_name,
                "dmd_id": entry.dmd_id,
                "indication": entry.indication,
                "regimen": entry.regimen,
                "criteria": [{"code": "C1", "text": "Eligible"}],
                "cost_per_cycle": "1000.00",
                "cycle_length_days": 28,
                "expected_cycles": 6,
                "managed_access_start": entry.managed_access_start.isoformat(),
                "effective_from": entry.effective_from.isoformat(),
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        gmc = await confirmed_clinician(svc.client, stack, TRUST)
        patients = {name: nhs_number_for(next_patient_index()) for name in ("A", "B", "C")}
        planned = {"A": today - timedelta(days=60), "B": today + timedelta(days=10), "C": today - timedelta(days=75)}
        for name, nhs in patients.items():
            body = {
                "nhs_number": nhs,
                "date_of_birth": "1960-01-01",
                "provider_ods": TRUST,
                "entry_id": entry.entry_id,
                "clinician_gmc": gmc,
                "answers": {"C1": True},
                "planned_start": planned[name].isoformat(),
                "consent_confirmed": True,
            }
            made = await svc.client.post("/api/v1/cdf/applications", json=body, headers=stack.auth(TRUST, "clinician"))
            assert made.json()["status"] == "approved", made.text

        # SACT: A started two days before its planned start; B and C show nothing
        start_a = today - timedelta(days=58)
        course = Course(
            trust=TRUST,
            nhs_number=patients["A"],
            born=date(1960, 1, 1),
            sex="2",
            gmc=gmc,
            diagnosis="C56.X",
            drugs=("Olaparib",),
            cycle_days=28,
            cycles=6,
            regimen_start=start_a,
        )
        buffer = io.StringIO()
        write_sact_csv(buffer, [course], today - timedelta(days=1), random.Random(1))
        posted = await svc.client.post(
            "/api/v1/sact/submissions",
            params={"provider_ods": TRUST, "period": today.strftime("%Y-%m"), "submission_id": "fc-1"},
            content=buffer.getvalue().encode(),
            headers={**stack.auth(TRUST, "provider_system"), "Content-Type": "text/csv"},
        )
        assert posted.status_code == 202, posted.text

        cycles = {start_a + timedelta(days=28 * k): 1 for k in range(3)}
        # History of this entry: A started, C lapsed (the SACT upload lapses it), B is still pending -> start
        # share 1/2. SACT for this month covers to today. Fewer than 20 treatments: the expected duration (6
        # cycles). The parts known by hand; new approvals depend on every trust's approvals (shared database).
        expected = forecast_entry(
            trust_ods=TRUST,
            entry=entry,
            # the v4.0 file gives each cycle's length (item 82): 28 days, the list's
            treatments=[
                Treatment(
                    start=start_a,
                    stop=None,
                    cycles_by_month=cycles,
                    last_cycle_start=max(cycles),
                    cycle_length_days=28,
                )
            ],
            pending=[PendingApproval(planned["B"])],
            curve=None,
            as_of=today,
            start_rate=0.5,
            sact_to=today,
        )
        fy = financial_year_of(today).financial_year
        finance = stack.auth("X24", "finance_lead")

        async def stored() -> dict | None:
            got = await svc.client.get(
                "/api/v1/cdf/forecasts",
                params={"provider": TRUST, "fy": fy, "entry_id": entry.entry_id},
                headers=finance,
            )
            items = got.json()["items"]
            return items[0] if items and Decimal(items[0]["pipeline"]) == expected.pipeline else None

        forecast = await eventually(stored, within=30, interval=0.2)
        assert forecast["basis"] == "expected_duration" and Decimal(forecast["start_rate"]) == Decimal("0.5")
        assert forecast["sact_to"] == today.isoformat()
        months = forecast["months"]
        assert [Decimal(m["actual"]) for m in months] == [m.actual for m in expected.months]
        assert [Decimal(m["active"]) for m in months] == [m.active for m in expected.months]
        assert [Decimal(m["pipeline"]) for m in months] == [m.pipeline for m in expected.months]
        assert Decimal(forecast["actual_to_date"]) == expected.actual_to_date == Decimal("3000.00")
        # A's three remaining cycles every 28 days from its last, as far as they fall in the year
        remaining = [start_a + timedelta(days=28 * k) for k in (3, 4, 5)]
        assert expected.active_projection == 1000 * sum(d <= fy_end(fy) for d in remaining)
        new = Decimal(forecast["new_approvals"])
        assert new > 0 and new == sum(Decimal(m["new_approvals"]) for m in months)
        assert Decimal(forecast["outturn"]) == expected.outturn + new == sum(Decimal(m["total"]) for m in months)
        assert (
            Decimal("3000.00")
            <= Decimal(forecast["lower"])
            <= Decimal(forecast["outturn"])
            <= Decimal(forecast["upper"])
        )

        async with svc.runtime.unit_of_work() as uow:
            published = (
                (
                    await uow.session.execute(
                        text(
                            "SELECT envelope->'data'->>'forecast_outturn' FROM outbox_events "
                            "WHERE event_type = 'cdf.forecast.updated' AND envelope->'data'->>'entry_id' = :e "
                            "ORDER BY id"
                        ),
                        {"e": entry.entry_id},
                    )
                )
                .scalars()
                .all()
            )
        assert published and Decimal(published[-1]) == Decimal(forecast["outturn"])

        # completeness in the month A started: A (with SACT) and C (approved, never treated) were active
        month = start_a.strftime("%Y-%m")
        report = await svc.client.get(
            "/api/v1/cdf/reports/sact-completeness", params={"month": month, "provider": TRUST}, headers=finance
        )
        assert report.status_code == 200, report.text
        assert report.json() == [
            {
                "provider_ods": TRUST,
                "month": month,
                "approvals_active": 2,
                "approvals_with_sact": 1,
                "share": "0.5000",
                "expectation": "0.90",
                "meets_expectation": False,
            }
        ]
        own = await svc.client.get(
            "/api/v1/cdf/forecasts", params={"fy": fy}, headers=stack.auth("RRV", "trust_finance")
        )
        assert all(f["provider_ods"] == "RRV" for f in own.json()["items"])
