"""The deadline sweep: warn before a stage clock falls due, and report when it has passed.

Each alert is raised once per clock: the `(clock_id, alert)` unique key in `ifr_deadline_alerts` is
claimed in the same transaction as the event, so replicas sweeping at once, or a sweep run twice,
emit nothing twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from casework.clock import today
from casework.periodic import every
from casework.runtime import BackgroundTask
from ifr_service.db.models import CaseClock, DeadlineAlert, IfrRequest
from ifr_service.domain.clocks import TEAM_CLOCKS, Alert, alert_due
from ifr_service.runtime import IfrRuntime
from ifr_service.use_cases.workflow import emit_case_event

ACTOR = "system:ifr-deadlines"


async def sweep_deadlines(runtime: IfrRuntime, on: date | None = None) -> int:
    """Raise the alerts due on `on` (today by default); returns how many were raised."""
    on = on or today()
    warning = runtime.settings.deadline_warning_days
    horizon = on + timedelta(days=2 * warning + 7)  # generous in calendar days; alert_due decides exactly
    raised = 0
    async with runtime.unit_of_work() as uow:
        rows = (
            await uow.session.execute(
                select(CaseClock, IfrRequest)
                .join(IfrRequest, IfrRequest.id == CaseClock.request_id)
                .where(
                    CaseClock.stopped_on.is_(None),
                    CaseClock.cancelled.is_(False),
                    CaseClock.paused_since.is_(None),
                    CaseClock.clock.in_([str(c) for c in TEAM_CLOCKS]),
                    CaseClock.due_date <= horizon,
                    ~exists(  # a breached clock has nothing more to say
                        select(DeadlineAlert.id).where(
                            DeadlineAlert.clock_id == CaseClock.id, DeadlineAlert.alert == Alert.BREACHED.value
                        )
                    ),
                )
                # one order for every replica: two sweeps claiming the same alerts wait on each other
                # in turn rather than each holding one the other wants (a deadlock, a lost round)
                .order_by(CaseClock.due_date, CaseClock.id)
            )
        ).all()
        raised_before = set(
            (
                await uow.session.execute(
                    select(DeadlineAlert.clock_id, DeadlineAlert.alert).where(
                        DeadlineAlert.clock_id.in_([clock.id for clock, _ in rows])
                    )
                )
            ).all()
        )
        for clock, case in rows:
            alert = alert_due(clock, on, warning)
            if alert is None or (clock.id, alert.value) in raised_before:
                continue
            claimed = await uow.session.scalar(
                pg_insert(DeadlineAlert)
                .values(clock_id=clock.id, alert=alert.value, due_date=clock.due_date)
                .on_conflict_do_nothing()
                .returning(DeadlineAlert.id)
            )
            if claimed is None:
                continue
            emit_case_event(uow, case, f"ifr.request.{alert.value}", clock=clock.clock, due_date=clock.due_date)
            detail = {"clock": clock.clock, "due_date": clock.due_date.isoformat()}
            uow.audit(ACTOR, alert.value, "ifr_request", case.id, detail=detail)
            raised += 1
        await uow.commit()
    return raised


def deadline_sweep() -> BackgroundTask:
    return every(
        lambda runtime: runtime.settings.deadline_sweep_interval_s,
        sweep_deadlines,
        "ifr-deadline-sweep",
    )
