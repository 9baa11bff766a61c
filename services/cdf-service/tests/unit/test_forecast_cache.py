"""When the forecaster rebuilds an entry's basis from its whole history, and when it keeps it."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from forecast_entries import make_entry

from cdf_service.domain.forecast import BandCalibration
from cdf_service.domain.forecast_basis import EntryBasis, TrustShares
from cdf_service.domain.forecast_inputs import CyclePattern
from cdf_service.use_cases.forecast_cache import ForecastCache

DAY = date(2026, 6, 30)
BASIS = EntryBasis(None, CyclePattern(28.0), 56, 0.9, 14, 0.1, (1.0,))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_basis_is_kept_until_the_rule_says_rebuild() -> None:
    clock, versions = Clock(), [make_entry()]
    cache = ForecastCache(refresh_share=0.05, max_age_s=300, clock=clock)
    assert cache.stale("E", DAY, versions)  # nothing kept yet
    cache.keep("E", BASIS, DAY, versions=versions, history=100)
    assert not cache.stale("E", DAY, versions) and cache.basis("E") is BASIS
    cache.recomputed(["E"] * 4)
    assert not cache.stale("E", DAY, versions)  # 4 changes of 100 applications: under 5%
    cache.recomputed(["E", "OTHER"])
    assert cache.stale("E", DAY, versions)  # the fifth: rebuild
    cache.keep("E", BASIS, DAY, versions=versions, history=100)
    assert cache.stale("E", DAY + timedelta(days=1), versions)  # another day
    priced = [dataclasses.replace(versions[0], cost_per_cycle=Decimal("1.00"))]
    assert cache.stale("E", DAY, priced)  # the list changed
    clock.now += 301
    assert cache.stale("E", DAY, versions)  # too old (changes through other replicas are not counted)


def test_a_small_history_is_rebuilt_on_every_change_and_max_age_zero_keeps_nothing() -> None:
    versions = [make_entry()]
    cache = ForecastCache(refresh_share=0.05, max_age_s=300, clock=Clock())
    cache.keep("E", BASIS, DAY, versions=versions, history=3)
    cache.recomputed(["E"])
    assert cache.stale("E", DAY, versions)
    off = ForecastCache(refresh_share=0.05, max_age_s=0, clock=Clock())
    off.keep("E", BASIS, DAY, versions=versions, history=1000)
    assert off.stale("E", DAY, versions)
    assert off.national(DAY) is None


def test_national_figures_follow_the_day_and_the_age() -> None:
    clock = Clock()
    cache = ForecastCache(refresh_share=0.05, max_age_s=300, clock=clock)
    assert cache.national(DAY) is None
    kept = cache.keep_national(TrustShares({"RRV": 1.0}, {}), BandCalibration(), DAY)
    assert cache.national(DAY) is kept and cache.national(DAY + timedelta(days=1)) is None
    clock.now += 301
    assert cache.national(DAY) is None
