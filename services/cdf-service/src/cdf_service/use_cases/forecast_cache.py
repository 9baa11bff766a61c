"""What the forecaster keeps between rounds: each entry's basis, and the national figures every pair shares.

An entry's basis (time-on-treatment curve, start share, cycle spacing, national approval rate, start
lag) is learnt from the entry's whole history, every trust's: rebuilding it on every change made each
change cost O(history). It is kept instead, and rebuilt from the history only when
- there is none yet, or the forecast's day changed (the curve censors at the SACT horizon, the rates
  weigh approvals by age);
- the entry's list versions changed (prices, managed access, closure);
- the entry's pairs have been recomputed, since it was built, as many times as REFRESH_SHARE of the
  applications it was built from (at least once): a change to one patient among hundreds moves the curve
  very little, so a change costs O(history) once in that many changes;
- it is older than FORECAST_BASIS_MAX_AGE_S (changes made through other replicas are not counted here).
Between rebuilds each pair's own treatments, approvals and SACT horizon are always current. The national
figures (each trust's share of approvals, the band calibration of the latest stored backtest) follow the
same day and age rule. FORECAST_BASIS_MAX_AGE_S=0 keeps nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from cdf_service.domain.forecast import BandCalibration
from cdf_service.domain.forecast_basis import EntryBasis, TrustShares
from cdf_service.domain.national_list import ListEntry
from cdf_service.runtime import CdfRuntime

Clock = Callable[[], float]


@dataclass
class KeptBasis:
    basis: EntryBasis
    as_of: date
    versions: tuple[ListEntry, ...]
    history: int  # applications it was built from
    built_at: float
    changes: int = 0  # recomputations of the entry's pairs since


@dataclass(frozen=True)
class NationalFigures:
    shares: TrustShares
    calibration: BandCalibration
    as_of: date
    built_at: float


class ForecastCache:
    def __init__(self, refresh_share: float, max_age_s: float, clock: Clock = time.monotonic) -> None:
        self.refresh_share = refresh_share
        self.max_age_s = max_age_s
        self._clock = clock
        self._bases: dict[str, KeptBasis] = {}
        self._national: NationalFigures | None = None

    def stale(self, entry_id: str, as_of: date, versions: Sequence[ListEntry]) -> bool:
        """Whether the entry's basis must be rebuilt from its history (the module docstring's rule)."""
        kept = self._bases.get(entry_id)
        if kept is None or kept.as_of != as_of or kept.versions != tuple(versions) or self._old(kept.built_at):
            return True
        return kept.changes >= max(1, math.ceil(self.refresh_share * kept.history))

    def keep(
        self, entry_id: str, basis: EntryBasis, as_of: date, *, versions: Sequence[ListEntry], history: int
    ) -> None:
        self._bases[entry_id] = KeptBasis(basis, as_of, tuple(versions), history, self._clock())

    def basis(self, entry_id: str) -> EntryBasis:
        return self._bases[entry_id].basis

    def recomputed(self, entry_ids: Iterable[str]) -> None:
        """Count one recomputation for each pair's entry (an entry once per pair)."""
        for entry_id in entry_ids:
            if (kept := self._bases.get(entry_id)) is not None:
                kept.changes += 1

    def national(self, as_of: date) -> NationalFigures | None:
        figures = self._national
        if figures is None or figures.as_of != as_of or self._old(figures.built_at):
            return None
        return figures

    def keep_national(self, shares: TrustShares, calibration: BandCalibration, as_of: date) -> NationalFigures:
        self._national = NationalFigures(shares, calibration, as_of, self._clock())
        return self._national

    def _old(self, built_at: float) -> bool:
        return self.max_age_s <= 0 or self._clock() - built_at > self.max_age_s


def forecast_cache(runtime: CdfRuntime) -> ForecastCache:
    """The runtime's cache (one per service instance: tests run several against different databases)."""
    cache = runtime.extras.get("forecast_cache")
    if not isinstance(cache, ForecastCache):
        settings = runtime.settings
        refresh = float(getattr(settings, "forecast_basis_refresh_share", 0.05))
        max_age = float(getattr(settings, "forecast_basis_max_age_s", 300.0))
        cache = runtime.extras["forecast_cache"] = ForecastCache(refresh, max_age)
    return cache
