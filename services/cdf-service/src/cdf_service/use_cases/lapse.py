"""The lapse sweep: approvals with no SACT administration within their window lapse, once.

Safe on every replica at once: rows are claimed with FOR UPDATE SKIP LOCKED and move to `lapsed`
through the transition table, so a second sweep (or a racing SACT matcher) finds nothing to do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import bindparam, select

from casework import clock
from casework.logs import get_logger
from cdf_service.db.forecast_repo import mark_dirty
from cdf_service.db.models import Application
from cdf_service.domain.prior_approval import TRANSITIONS, ApplicationAction, ApplicationState, has_lapsed
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.use_cases.application_events import emit_lapsed

log = get_logger(__name__)
BATCH = 500
ACTOR = "system:cdf-lapse-sweep"


async def lapse_overdue(runtime: CdfRuntime, today: date | None = None, provider_ods: str | None = None) -> int:
    """Lapse every approval past its window (optionally one trust's); returns how many lapsed."""
    today = today or clock.today()
    total = 0
    while True:
        async with runtime.unit_of_work() as uow:
            lapsed = await lapse_batch(uow, today, provider_ods)
            await uow.commit()
        total += lapsed
        if lapsed < BATCH:
            break
    if total:
        log.info("approvals lapsed", count=total, today=today.isoformat())
    return total


_OVERDUE = (
    select(Application)
    .where(Application.status == ApplicationState.APPROVED.value, Application.lapse_due < bindparam("today"))
    .order_by(Application.lapse_due, Application.id)
    .limit(BATCH)
    .with_for_update(skip_locked=True)
)
# Built once (casework.prepared): the SACT worker asks after every submission, mostly finding none.
_OVERDUE_AT = _OVERDUE.where(Application.provider_ods == bindparam("provider_ods"))


async def lapse_batch(uow: CdfUnitOfWork, today: date, provider_ods: str | None = None) -> int:
    """One batch inside the caller's unit of work (the SACT matcher calls it after applying a file)."""
    if provider_ods is None:
        found = await uow.session.scalars(_OVERDUE, {"today": today})
    else:
        found = await uow.session.scalars(_OVERDUE_AT, {"today": today, "provider_ods": provider_ods})
    apps = found.all()
    if not apps:
        return 0
    for app in apps:
        if not has_lapsed(app, today, app.first_administration):
            continue
        app.status = TRANSITIONS.next_state(app.status, ApplicationAction.LAPSE)
        app.closed_at = datetime.now(UTC)
        app.close_reason = f"no SACT administration by {app.lapse_due.isoformat()}"
        emit_lapsed(uow, app)
        uow.audit(ACTOR, "lapse", "cdf_application", app.id, reason=app.close_reason)
    await uow.session.flush()
    await mark_dirty(uow, [(a.provider_ods, a.entry_id) for a in apps])
    return len(apps)


async def lapse_sweep(runtime: CdfRuntime) -> None:
    """The periodic job (casework.periodic.every); LAPSE_SWEEP_INTERVAL_S=0 turns it off."""
    if runtime.settings.lapse_sweep_interval_s <= 0:
        return
    await lapse_overdue(runtime, clock.today())
