"""Due dates on every case (fixed examples across Christmas/New Year, from configuration, across an
information pause), and the sweep that raises deadline_approaching / deadline_breached once per clock."""

from datetime import date, timedelta

import pytest
from ifr_http import Ifr, application
from sqlalchemy import select

from embedded_stack.testing import TestStack
from ifr_service.api import actions as actions_api
from ifr_service.api import requests as requests_api
from ifr_service.use_cases import workflow
from ifr_service.use_cases.deadlines import sweep_deadlines

CHRISTMAS_2025 = date(2025, 12, 23)  # Tuesday; 25, 26 Dec and 1 Jan are bank holidays


def due(case: dict) -> dict[str, str]:
    return {c["clock"]: c["due_date"] for c in case["clocks"]}


async def deadline_events(svc, case: dict) -> list[tuple[str, str]]:
    outbox = svc.runtime.tables.outbox
    async with svc.runtime.sessions() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(
                outbox.c.message_key == case["id"], outbox.c.event_type.like("ifr.request.deadline_%")
            )
        )
        return sorted((e["type"], e["data"]["clock"]) for (e,) in rows)


async def test_due_dates_across_christmas_routine_and_urgent(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_deadlines", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        routine = await ifr.submitted(received_on=CHRISTMAS_2025)
        assert due(routine) == {
            "acknowledge": "2025-12-29",
            "triage": "2026-01-02",
            "screening_outcome": "2026-01-09",
            "panel_decision": "2026-01-23",
        }
        urgent = await ifr.submitted(
            application(urgency="urgent", urgency_reason="rapid deterioration"), received_on=CHRISTMAS_2025
        )
        assert due(urgent) == {
            "acknowledge": "2025-12-23",
            "triage": "2025-12-24",
            "screening_outcome": "2025-12-29",
            "panel_decision": "2026-01-02",
        }
        assert routine["next_due"] == "2025-12-29" and routine["overdue"] is True
        overdue = (await svc.client.get("/api/v1/ifr/requests", params={"overdue": True}, headers=ifr.officer)).json()
        assert {routine["id"], urgent["id"]} <= {c["id"] for c in overdue["items"]}


async def test_clock_lengths_come_from_settings(stack: TestStack) -> None:
    async with stack.service(
        "ifr", database="ifr_deadlines", run_workers=False, acknowledge_days_routine=4, triage_days_routine=7
    ) as svc:
        case = await Ifr(svc.client, stack).submitted(received_on=CHRISTMAS_2025)
        assert due(case)["acknowledge"] == "2025-12-31"  # 24, 29, 30, 31
        assert due(case)["triage"] == "2026-01-06"  # ... 2, 5, 6


async def test_sweep_raises_each_alert_once_per_clock(stack: TestStack) -> None:
    async with stack.service("ifr", database="ifr_deadlines", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        late = await ifr.submitted(received_on=CHRISTMAS_2025)
        fresh = await ifr.submitted()
        paused = await ifr.act(await ifr.screening(), "request-information", {"information_needed": "scan"})
        await sweep_deadlines(svc.runtime)
        await sweep_deadlines(svc.runtime)  # a second round (or a second replica) raises nothing again
        assert await deadline_events(svc, late) == [
            ("ifr.request.deadline_breached", "acknowledge"),
            ("ifr.request.deadline_breached", "panel_decision"),
            ("ifr.request.deadline_breached", "screening_outcome"),
            ("ifr.request.deadline_breached", "triage"),
        ]
        assert await deadline_events(svc, paused) == []  # clocks waiting for information never alert
        # on its due date the acknowledgement clock is within the 2-day warning, once
        fresh_due = date.fromisoformat(due(fresh)["acknowledge"])
        await sweep_deadlines(svc.runtime, on=fresh_due)
        await sweep_deadlines(svc.runtime, on=fresh_due)
        assert await deadline_events(svc, fresh) == [("ifr.request.deadline_approaching", "acknowledge")]
        # the day after it falls due the same clock is breached, once
        after = fresh_due + timedelta(days=1)
        await sweep_deadlines(svc.runtime, on=after)
        await sweep_deadlines(svc.runtime, on=after)
        events = await deadline_events(svc, fresh)
        assert events.count(("ifr.request.deadline_breached", "acknowledge")) == 1
        assert events.count(("ifr.request.deadline_approaching", "acknowledge")) == 1
        assert await deadline_events(svc, paused) == []
        # the events carry the due date and no patient identifier
        history = (await svc.client.get(f"/api/v1/ifr/requests/{late['id']}/history", headers=ifr.officer)).json()
        assert [h["detail"]["clock"] for h in history if h["action"] == "deadline_breached"] == [
            "acknowledge",
            "triage",
            "screening_outcome",
            "panel_decision",
        ]


async def test_an_information_pause_over_christmas_moves_the_due_dates(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP, with the service's calendar set to fixed days (the clocks live in the database).

    Received Mon 15 Dec 2025 (routine); information asked for on Thu 18 Dec, back on Mon 5 Jan 2026.
    The team waited the 9 working days after 18 Dec up to 5 Jan: 19, 22, 23, 24, 29, 30, 31 Dec, 2 and
    5 Jan (25, 26 Dec and 1 Jan are bank holidays). Screening outcome: 10 working days from 15 Dec is
    Wed 31 Dec, + 9 = Wed 14 Jan. Panel decision: 20 is Thu 15 Jan, + 9 = Wed 28 Jan."""
    calendar = {"today": date(2025, 12, 15)}
    for module in (workflow, actions_api, requests_api):
        monkeypatch.setattr(module, "today", lambda: calendar["today"])
    async with stack.service("ifr", database="ifr_pause", run_workers=False) as svc:
        ifr = Ifr(svc.client, stack)
        case = await ifr.submitted()  # by the clinician: received today
        assert due(case) == {
            "acknowledge": "2025-12-17",
            "triage": "2025-12-22",
            "screening_outcome": "2025-12-31",
            "panel_decision": "2026-01-15",
        }
        calendar["today"] = date(2025, 12, 16)
        case = await ifr.act(await ifr.act(case, "acknowledge"), "screen")
        calendar["today"] = date(2025, 12, 18)
        case = await ifr.act(case, "request-information", {"information_needed": "the latest scan"})
        paused = {c["clock"]: (c["status"], c["due_date"]) for c in case["clocks"]}
        assert paused["screening_outcome"] == ("paused", "2025-12-31")
        assert paused["panel_decision"] == ("paused", "2026-01-15")
        assert case["next_due"] is None and case["overdue"] is False  # nothing runs while the team waits

        # while paused, the case shows the due dates it would have if the information came today
        calendar["today"] = date(2026, 1, 2)  # 8 working days waited: 19, 22, 23, 24, 29, 30, 31 Dec, 2 Jan
        waiting = (await ifr.get(case)).json()
        assert {c["clock"]: c["due_date"] for c in waiting["clocks"] if c["status"] == "paused"} == {
            "screening_outcome": "2026-01-13",
            "panel_decision": "2026-01-27",
        }
        # a paused case is not overdue, though its screening clock's first due date (31 Dec) has passed
        overdue = await svc.client.get("/api/v1/ifr/requests", params={"overdue": True}, headers=ifr.officer)
        assert case["id"] not in {c["id"] for c in overdue.json()["items"]}

        calendar["today"] = date(2026, 1, 5)
        resumed = await ifr.act(case, "provide-information", {"information": "scan attached"}, headers=ifr.clinician)
        clocks = {c["clock"]: c for c in resumed["clocks"]}
        assert {k: (c["status"], c["paused_days"], c["due_date"]) for k, c in clocks.items()} == {
            "acknowledge": ("met", 0, "2025-12-17"),
            "triage": ("met", 0, "2025-12-22"),
            "screening_outcome": ("running", 9, "2026-01-14"),
            "panel_decision": ("running", 9, "2026-01-28"),
        }
        assert resumed["next_due"] == "2026-01-14" and resumed["overdue"] is False
        # and the sweep counts from the moved dates: a warning on 13 Jan, no breach before 15 Jan
        await sweep_deadlines(svc.runtime, on=date(2026, 1, 13))
        await sweep_deadlines(svc.runtime, on=date(2026, 1, 14))
        assert await deadline_events(svc, case) == [("ifr.request.deadline_approaching", "screening_outcome")]
        await sweep_deadlines(svc.runtime, on=date(2026, 1, 15))
        assert ("ifr.request.deadline_breached", "screening_outcome") in await deadline_events(svc, case)
