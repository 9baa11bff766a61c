"""The platform's one clock: "today" is the business day in England, whatever the host's time zone.

Deadlines, lapses, financial years, "overdue" and the default of a date filter are English working
days. A host (or container) runs on UTC, so `date.today()` there is yesterday in London from 23:00 to
midnight UTC every summer night (BST): a CDF approval would lapse, or an IFR case would be received, a
day late for that hour. Everything that means the business day asks this module instead; ruff's DTZ
rules (pyproject.toml) forbid the bare `date.today()` and the naive `datetime.now()` in source code.

Instants (created_at, sent_at, event times) stay in UTC: `now()` is aware, so it can be compared and
stored with them; only its calendar date is London's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now(at: datetime | None = None) -> datetime:
    """This instant (or `at`) as an aware datetime in Europe/London. `at` must be aware: a naive time
    says nothing about which day it is."""
    instant = datetime.now(UTC) if at is None else at
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no day in London: pass an aware one")
    return instant.astimezone(LONDON)


def today(at: datetime | None = None) -> date:
    """The business day in England now (or at the instant `at`)."""
    return now(at).date()
