"""What the service would have known on a cut-off day: only records dated before it.

The forecaster reads applications as rows (`cdf_service.use_cases.forecaster._OWN` and `_HISTORY`); this
builds the same rows from the national history as a database would have held them the day before the
cut-off:
- an application exists from the day it was decided, is withdrawn from its withdrawal day;
- a SACT cycle exists from the day its submission arrived, a stop from the day the submission recording
  it arrived; the first administration is the earliest cycle known;
- an approval with no administration known has lapsed once the trust's SACT covers its whole window
  (the trust has submitted the month its lapse due date falls in);
- a list version exists from the day it was published;
- a trust's SACT covers up to the end of the latest month it has submitted.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cdf_service.backtest.history_records import HistoricApplication, NationalHistory, PublishedVersion
from cdf_service.domain.forecast import month_end
from cdf_service.domain.national_list import ListEntry, entry_as_of
from cdf_service.domain.prior_approval import lapse_due_date


@dataclass(frozen=True, slots=True)
class KnownApplication:
    """One application as the forecaster's statements would answer it."""

    provider_ods: str
    entry_id: str
    id: int
    status: str
    planned_start: date
    created: date
    first_administration: date | None
    final_treatment_date: date | None
    closed_at: datetime | None
    months: list[date] | None  # the days cycles were given (named as the forecaster's statements name them)
    cycles: list[int] | None  # cycles on each of those days
    # The history's SACT is of one cycle a row and gives no cycle length (as v3.0, before SACT v4.0's
    # items 82 and 83): the forecast takes the latest day given and the list's cycle length.
    last_cycle_start: date | None = None
    last_cycle_days: int | None = None


@dataclass(frozen=True)
class Knowledge:
    cutoff: date
    applications: list[KnownApplication]
    versions: dict[str, list[ListEntry]]  # per entry, the versions published before the cut-off
    sact_to: dict[str, date]  # per trust, the last day its submitted SACT months cover

    @property
    def as_of(self) -> date:
        return self.cutoff - timedelta(days=1)

    def entry(self, entry_id: str) -> ListEntry | None:
        """The version in force on as-of, else the latest (as the service's list cache answers)."""
        versions = self.versions.get(entry_id)
        if not versions:
            return None
        return entry_as_of(versions, self.as_of) or versions[-1]


class HistoryIndex:
    """The history prepared for many cut-offs: each application's cycles as (day, submitted), and the rows
    already settled (everything about the application known, so later cut-offs see the same row)."""

    def __init__(self, history: NationalHistory) -> None:
        self.history = history
        self.cycles = {a.number: [(c.day, c.submitted) for c in a.cycles] for a in history.applications}
        self.last_news = {a.number: _last_news(a) for a in history.applications}
        self._settled: dict[int, tuple[date, KnownApplication]] = {}

    def row(self, app: HistoricApplication, cutoff: date, sact_to: date | None, lapse_window: int) -> KnownApplication:
        settled = self._settled.get(app.number)
        if settled is not None and settled[0] <= cutoff:
            return settled[1]
        row = _known(app, self.cycles[app.number], cutoff, sact_to, lapse_window)
        if cutoff > self.last_news[app.number] and row.status != "approved":
            self._settled[app.number] = (cutoff, row)  # nothing more will ever be learnt about it
        return row


def _last_news(app: HistoricApplication) -> date:
    """The last day anything about the application becomes known."""
    days = [app.decided, *(c.submitted for c in app.cycles)]
    days += [d for d in (app.withdrawn, app.stop_submitted) if d is not None]
    return max(days)


def known_at(index: HistoryIndex, cutoff: date) -> Knowledge:
    """Everything dated before `cutoff`, shaped as the service would hold it."""
    history = index.history
    versions = known_versions(history.versions, cutoff)
    sact_to = sact_coverage(history, cutoff)
    lapse_windows = {entry_id: chain[-1].lapse_window_days for entry_id, chain in versions.items()}
    applications = [
        index.row(a, cutoff, sact_to.get(a.trust), lapse_windows[a.entry_id])
        for a in history.applications
        if a.decided < cutoff and a.entry_id in lapse_windows
    ]
    return Knowledge(cutoff, applications, versions, sact_to)


def known_versions(published: Iterable[PublishedVersion], cutoff: date) -> dict[str, list[ListEntry]]:
    """Per entry, the versions published before `cutoff`, each closed by the next one known."""
    chains: dict[str, list[ListEntry]] = defaultdict(list)
    for v in sorted(published, key=lambda v: (v.entry.entry_id, v.entry.version)):
        if v.published < cutoff:
            chains[v.entry.entry_id].append(v.entry)
    return {
        entry_id: [
            dataclasses.replace(e, effective_to=nxt.effective_from if nxt else None)
            for e, nxt in zip(chain, [*chain[1:], None], strict=True)
        ]
        for entry_id, chain in chains.items()
    }


def sact_coverage(history: NationalHistory, cutoff: date) -> dict[str, date]:
    """Per trust, the last day of the latest month whose first submission arrived before `cutoff`."""
    latest: dict[str, date] = {}
    for s in history.submissions:
        if s.submitted < cutoff and s.period > latest.get(s.trust, date.min):
            latest[s.trust] = s.period
    return {trust: month_end(period) for trust, period in latest.items()}


def _known(
    app: HistoricApplication,
    cycles: Sequence[tuple[date, date]],
    cutoff: date,
    sact_to: date | None,
    lapse_window: int,
) -> KnownApplication:
    withdrawn = app.withdrawn is not None and app.withdrawn < cutoff
    days = [day for day, submitted in cycles if submitted < cutoff]
    stopped = app.stop is not None and app.stop_submitted is not None and app.stop_submitted < cutoff and days
    if withdrawn:
        status = "withdrawn"
    elif days:
        status = "treatment_stopped" if stopped else "treatment_started"
    elif sact_to is not None and lapse_due_date(app.planned_start, lapse_window) < sact_to:
        status = "lapsed"
    else:
        status = "approved"
    given, counts = _per_day(days)
    return KnownApplication(
        provider_ods=app.trust,
        entry_id=app.entry_id,
        id=app.number,
        status=status,
        planned_start=app.planned_start,
        created=app.decided,
        first_administration=min(days) if days else None,
        final_treatment_date=app.stop if stopped else None,
        closed_at=datetime.combine(app.withdrawn, time(12), UTC) if withdrawn and app.withdrawn else None,
        months=given,
        cycles=counts,
    )


def _per_day(days: Sequence[date]) -> tuple[list[date] | None, list[int] | None]:
    """Distinct days in order (the days come in date order) and the cycles on each."""
    if not days:
        return None, None
    ordered, counts = [days[0]], [1]
    for day in days[1:]:
        if day == ordered[-1]:
            counts[-1] += 1
        else:
            ordered.append(day)
            counts.append(1)
    return ordered, counts
