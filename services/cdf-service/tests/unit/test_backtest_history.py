"""The backtest's synthetic national history: seeded, dated as a national database would know it, and
showing the irregularities the forecast has to survive (a reduced history, so the test is quick)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from functools import cache
from itertools import pairwise

from casework.financial_year import month_start
from cdf_service.backtest.history import national_history
from cdf_service.backtest.history_records import HistoryPlan, NationalHistory
from cdf_service.domain.national_list import EntryStatus

PLAN = HistoryPlan(seed=3, first_fy=2021, years=4, trusts=12, entries=14)


@cache
def history() -> NationalHistory:
    return national_history(PLAN)


def test_same_plan_same_history_and_another_seed_another() -> None:
    again = national_history(PLAN)
    assert again.fingerprint() == history().fingerprint()
    other = national_history(HistoryPlan(seed=4, first_fy=2021, years=4, trusts=12, entries=14))
    assert other.fingerprint() != history().fingerprint()
    assert history().describe()["applications"] == len(history().applications) > 1000


def test_nothing_is_known_before_it_happened() -> None:
    for a in history().applications:
        assert a.decided <= a.planned_start
        if a.withdrawn is not None:
            assert not a.cycles and a.withdrawn > a.decided
        days = [c.day for c in a.cycles]
        assert days == sorted(days)
        assert all(c.day >= a.decided for c in a.cycles)
        assert all(c.submitted > month_start(c.day) + timedelta(days=27) for c in a.cycles)  # in a later month
        if a.stop is not None:
            assert a.stop == days[-1] and a.stop_submitted is not None and a.stop_submitted > a.stop


def test_sact_arrives_late_and_partial_in_some_months() -> None:
    submitted_in = {(s.trust, s.period): s.submitted for s in history().submissions}
    late = [k for k, day in submitted_in.items() if (day.year - k[1].year) * 12 + day.month - k[1].month >= 2]
    assert late, "some months come a month late"
    later_rows = [
        (a.trust, month_start(c.day))
        for a in history().applications
        for c in a.cycles
        if c.submitted > submitted_in[(a.trust, month_start(c.day))]
    ]
    assert later_rows, "some months are partial: part of their rows come with a later submission"


def test_cycles_are_not_always_one_cycle_length_apart() -> None:
    lengths = {v.entry.entry_id: v.entry.cycle_length_days for v in history().versions}
    gaps = [
        (b.day - a.day).days - lengths[app.entry_id] for app in history().applications for a, b in pairwise(app.cycles)
    ]
    assert 0 in gaps and 7 in gaps and 14 in gaps
    assert 0.6 < gaps.count(0) / len(gaps) < 0.9


def test_list_changes_are_published_and_respected() -> None:
    versions = defaultdict(list)
    for v in history().versions:
        versions[v.entry.entry_id].append(v)
    steps = [(a.entry, b.entry) for chain in versions.values() for a, b in pairwise(chain)]
    assert any(b.cost_per_cycle > a.cost_per_cycle for a, b in steps) and any(
        b.cost_per_cycle < a.cost_per_cycle for a, b in steps
    )
    for chain in versions.values():
        assert [v.entry.version for v in chain] == list(range(1, len(chain) + 1))
        assert all(a.published <= b.published for a, b in pairwise(chain))
        assert all(a.entry.effective_from < b.entry.effective_from for a, b in pairwise(chain))
    last_day = {}
    for entry_id, chain in versions.items():
        closed = [v.entry.effective_from for v in chain if v.entry.status is EntryStatus.CLOSED]
        last_day[entry_id] = closed[0] - timedelta(days=1) if closed else chain[-1].entry.managed_access_end
        opened = chain[0].entry.managed_access_start
        decided = [a.decided for a in history().applications if a.entry_id == entry_id]
        assert all(opened <= d <= last_day[entry_id] for d in decided)
    assert any(d < PLAN.end for d in last_day.values()), "some entry closes inside the history"


def test_a_trust_joins_late() -> None:
    first = {}
    for a in history().applications:
        first[a.trust] = min(first.get(a.trust, date.max), a.decided)
    assert any(day > PLAN.start + timedelta(days=365) for day in first.values())
    assert sum(day < PLAN.start + timedelta(days=60) for day in first.values()) >= len(first) // 2
