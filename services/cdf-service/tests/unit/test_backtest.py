"""The backtest on a small history: nothing dated on or after a cut-off reaches its forecast, and the
measures come out for every cut-off asked for (a reduced history keeps this to a few seconds)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from functools import cache

import pytest

from cdf_service.backtest.history import national_history
from cdf_service.backtest.history_records import (
    CycleRecord,
    HistoricApplication,
    HistoryPlan,
    NationalHistory,
    PublishedVersion,
    SactMonth,
)
from cdf_service.backtest.known import HistoryIndex, known_at
from cdf_service.backtest.run import ModelSettings, cutoff_day, forecast_at, run_backtest

PLAN = HistoryPlan(seed=7, first_fy=2022, years=4, trusts=8, entries=10)
CUTOFF = cutoff_day("2024/25", 6)  # 20 October 2024


@cache
def history() -> NationalHistory:
    return national_history(PLAN)


@cache
def running() -> HistoricApplication:
    """A treatment on at the cut-off, cut to what was submitted before it (so that the news can follow)."""
    on = next(
        a
        for a in history().applications
        if a.cycles and a.cycles[0].submitted < CUTOFF - timedelta(days=60) and (a.stop_submitted or date.max) > CUTOFF
    )
    return dataclasses.replace(
        on, cycles=tuple(c for c in on.cycles if c.submitted < CUTOFF), stop=None, stop_submitted=None
    )


@cache
def base() -> NationalHistory:
    apps = tuple(running() if a.number == running().number else a for a in history().applications)
    return dataclasses.replace(history(), applications=apps)


def forecasts(h: NationalHistory) -> dict:  # type: ignore[type-arg]
    return forecast_at(known_at(HistoryIndex(h), CUTOFF), ModelSettings())


NEWS = ("approval", "cycle_and_stop", "price", "sact_month")


def with_news(day: date, kind: str) -> NationalHistory:
    """The history with one kind of record dated `day`: a new approval already treated, another cycle and
    the stop of a running treatment, a price cut, or a SACT month submitted."""
    on, h = running(), base()
    if kind == "approval":
        cycle = (CycleRecord(day - timedelta(days=30), day),)
        fresh = HistoricApplication(10**6, on.trust, on.entry_id, day, day, None, cycle, None, None)
        return dataclasses.replace(h, applications=(*h.applications, fresh))
    if kind == "cycle_and_stop":
        last = on.cycles[-1].day + timedelta(days=21)
        moved = dataclasses.replace(on, cycles=(*on.cycles, CycleRecord(last, day)), stop=last, stop_submitted=day)
        return dataclasses.replace(h, applications=tuple(moved if a.number == on.number else a for a in h.applications))
    if kind == "price":
        latest = [v for v in h.versions if v.entry.entry_id == on.entry_id][-1].entry
        cut = dataclasses.replace(
            latest,
            version=latest.version + 1,
            cost_per_cycle=latest.cost_per_cycle / 2,
            effective_from=max(latest.effective_from + timedelta(days=1), day - timedelta(days=60)),
        )
        return dataclasses.replace(h, versions=(*h.versions, PublishedVersion(cut, day)))
    month = SactMonth(on.trust, date(2024, 10, 1), day)  # October's data, early
    return dataclasses.replace(h, submissions=(*h.submissions, month))


@pytest.mark.parametrize("kind", NEWS)
def test_a_record_dated_on_or_after_the_cutoff_changes_nothing(kind: str) -> None:
    before = forecasts(base())
    assert forecasts(with_news(CUTOFF, kind)) == before
    assert forecasts(with_news(CUTOFF + timedelta(days=100), kind)) == before
    # the same record a day earlier is known, and it does change the forecast of its trust x entry
    earlier = forecasts(with_news(CUTOFF - timedelta(days=1), kind))
    pair = (running().trust, running().entry_id)
    assert earlier[pair] != before[pair]


def test_the_backtest_measures_every_cutoff_asked_for() -> None:
    result = run_backtest(history(), years=2, months=(3, 6, 9))
    assert result.years == ("2024/25", "2025/26")
    assert sorted(result.months) == [3, 6, 9]
    assert {o.cutoff_month for o in result.outcomes} == {3, 6, 9} and result.pairs > 20
    for month in result.months.values():
        assert month.coverage is not None and 0.0 < month.coverage <= 1.0
        assert month.national.model_wape is not None and month.national.run_rate_wape is not None
    # the model knows running treatments, approvals and list changes; trust x entry it beats the run-rate
    six = result.months[6]
    assert six.pair.model_wape < six.pair.run_rate_wape
    assert all(o.lower <= o.upper for o in result.outcomes)
    assert any(b.low != -b.high for b in result.calibration.bands.values())  # fitted, not the normal band
