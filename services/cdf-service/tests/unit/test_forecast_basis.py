"""What an entry's history teaches the forecast: cycle spacing and quiet spells, start lag, trust shares and
each trust x entry's expected approvals (by hand), and that a round of pairs equals each pair alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from forecast_entries import make_entry

from cdf_service.domain.forecast_basis import (
    PRIOR_DAYS,
    ForecastContext,
    TrustShares,
    cycle_pattern,
    entry_basis,
    forecast_pairs,
    new_approvals_for,
    presumed_stop,
    quiet_days,
    recency_weight,
    trust_shares,
)
from cdf_service.domain.national_list import EntryTerms

AS_OF = date(2026, 6, 30)


@dataclass(frozen=True)
class Row:
    """An application as the forecaster's statement reads it."""

    provider_ods: str
    entry_id: str = "CDF-0042"
    status: str = "treatment_started"
    planned_start: date = date(2026, 1, 1)
    created: date = date(2026, 1, 1)
    first_administration: date | None = None
    final_treatment_date: date | None = None
    closed_at: datetime | None = None
    months: list[date] | None = None
    cycles: list[int] | None = None
    last_cycle_start: date | None = None
    last_cycle_days: int | None = None


def treated(provider: str, start: date, gaps: list[int], **fields: object) -> Row:
    days = [start]
    for gap in gaps:
        days.append(days[-1] + timedelta(days=gap))
    return Row(provider, first_administration=start, months=days, cycles=[1] * len(days), **fields)  # type: ignore[arg-type]


def context(**overrides: object) -> ForecastContext:
    fields: dict[str, object] = {"as_of": AS_OF, "sact_to": {}, "shares": TrustShares({}, {})}
    return ForecastContext(**{**fields, **overrides})  # type: ignore[arg-type]


def test_cycle_spacing_and_quiet_spells_are_learnt_from_sact() -> None:
    # 13 treatments of 5 cycles (52 gaps), gaps 28, 28, 35, 28 days: interval = 119 / 4 = 29.75.
    rows = [treated("RRV", date(2025, 1, 1) + timedelta(days=i), [28, 28, 35, 28]) for i in range(13)]
    pattern = cycle_pattern(rows, 28)
    assert pattern.interval == pytest.approx(29.75)
    assert pattern.gap_longer_than(27) == 1.0 and pattern.gap_longer_than(28) == pytest.approx(0.25)
    assert pattern.gap_longer_than(35) == 0.0
    assert quiet_days(pattern) == 35
    assert cycle_pattern(rows[:5], 28).interval == 28.0  # too few treatments: the list's cycle length
    assert cycle_pattern(rows[:5], 28).longer_gaps == ()  # too few gaps: no table


def test_a_treatment_quiet_for_too_long_is_taken_as_stopped_at_its_last_cycle() -> None:
    row = treated("RRV", date(2026, 4, 1), [28, 28])  # last cycle 27 May
    assert presumed_stop(row, date(2026, 6, 30), quiet=35) is None  # 34 days
    assert presumed_stop(row, date(2026, 7, 1), quiet=34) == date(2026, 5, 27)  # 35 days
    stopped = treated("RRV", date(2026, 4, 1), [28], final_treatment_date=date(2026, 4, 29))
    assert presumed_stop(stopped, date(2026, 12, 1), quiet=35) == date(2026, 4, 29)


def packed(provider: str, start: date, packs: int, weekly: bool = False) -> Row:
    """An oral drug dispensed three cycles at a time (SACT v4.0 item 83 = 3, item 82 = 28, or 7 for a
    weekly one), each pack one cycle after the last cycle of the one before."""
    length = 7 if weekly else 28
    days = [start + timedelta(days=3 * length * k) for k in range(packs)]
    return Row(
        provider,
        first_administration=start,
        months=days,
        cycles=[3] * packs,
        last_cycle_start=days[-1] + timedelta(days=2 * length),
        last_cycle_days=length,
    )


def test_a_dispensed_pack_covers_its_cycles_in_the_spacing_and_quiet_spells() -> None:
    # 13 treatments of 2 packs: 6 cycles over 5 x 28 days from the first (the second pack's last cycle
    # 140 days on), gaps between dispensings 84 days of which two cycles the pack covered: 28 days each
    rows = [packed("RRV", date(2025, 1, 1) + timedelta(days=i), 2) for i in range(13)]
    assert cycle_pattern(rows, 28).interval == 28.0
    weekly = [packed("RRV", date(2025, 1, 1) + timedelta(days=i), 2, weekly=True) for i in range(13)]
    assert cycle_pattern(weekly, 28).interval == 28.0  # 35 days over 5 cycles, x 28 / 7 per 28-day cycle
    assert cycle_pattern([*rows, *rows, *rows, *rows], 28).gap_longer_than(28) == 0.0  # 52 gaps, none longer
    # a pack dispensed 1 Apr covers 1 Apr, 29 Apr and 27 May: not quiet for 34 days on 30 Jun
    row = packed("RRV", date(2026, 4, 1), 1)
    assert presumed_stop(row, date(2026, 6, 30), quiet=35) is None
    assert presumed_stop(row, date(2026, 7, 1), quiet=34) == date(2026, 5, 27)


def test_trust_shares_count_a_late_joiner_from_its_first_approval() -> None:
    # RRV approves every day of the year; RGT joined 30 days ago and approves every day too.
    days = [AS_OF - timedelta(days=i) for i in range(365)]
    approvals = [("RRV", d) for d in days] + [("RGT", d) for d in days[:30]] + [("RXX", AS_OF + timedelta(days=1))]
    shares = trust_shares(approvals, AS_OF)
    assert shares.share["RGT"] == pytest.approx(0.5)  # half the nation's approvals since it joined
    recent = sum(recency_weight(AS_OF, d) for d in days[:30])
    total = sum(recency_weight(AS_OF, d) for d in days)
    assert shares.share["RRV"] == pytest.approx(total / (total + recent))
    assert "RXX" not in shares.share  # after as-of: not known yet
    assert shares.first["RGT"] == days[29]


def test_a_pairs_expected_approvals_pull_its_own_rate_towards_entry_rate_x_trust_share() -> None:
    # The entry took approvals every day of the last year; nationally 2 a day (weighted); this trust's
    # share is a quarter; the pair itself approved on 10 recent days.
    entry = make_entry()
    nation = [
        Row(f"R{i:02d}", status="approved", created=AS_OF - timedelta(days=d)) for i in range(2) for d in range(365)
    ]
    basis = entry_basis(nation, entry, EntryTerms.of(entry), context())
    assert basis.approvals_per_day == pytest.approx(2.0)
    own = [Row("RRV", status="approved", created=AS_OF - timedelta(days=d)) for d in range(10)]
    ctx = context(shares=TrustShares({"RRV": 0.25}, {"RRV": AS_OF - timedelta(days=400)}))
    rate = new_approvals_for("RRV", own, basis, ctx)
    assert rate is not None
    count = sum(recency_weight(AS_OF, AS_OF - timedelta(days=d)) for d in range(10))
    exposure = basis.exposure[-1]
    shape, scale = count + PRIOR_DAYS * 2.0 * 0.25, exposure + PRIOR_DAYS
    assert rate.per_day == pytest.approx(shape / scale)
    assert rate.per_day_variance == pytest.approx(shape / scale**2)
    joined_today = context(shares=TrustShares({"RRV": 0.25}, {"RRV": AS_OF + timedelta(days=1)}))
    assert new_approvals_for("RRV", own, basis, joined_today) is None


def test_start_lag_and_start_share_come_from_the_entrys_history() -> None:
    entry = make_entry()
    started = [
        treated("RRV", date(2026, 3, 1) + timedelta(days=lag), [28], created=date(2026, 3, 1)) for lag in (5, 9, 30)
    ]
    lapsed = Row("RRV", status="lapsed", created=date(2026, 2, 1))
    withdrawn = Row("RGT", status="withdrawn", created=date(2026, 2, 1), closed_at=datetime(2026, 2, 5, tzinfo=UTC))
    basis = entry_basis([*started, lapsed, withdrawn], entry, EntryTerms.of(entry), context())
    assert basis.start_lag_days == 9  # the median
    assert basis.start_rate == pytest.approx(3 / 5)
    assert basis.curve is None  # 3 treatments: too few for a curve


def test_a_round_of_pairs_gives_what_each_pair_gives_alone() -> None:
    entry, other = make_entry(), make_entry(entry_id="CDF-0043")
    rows = [
        treated("RRV", date(2026, 5, 1), [28]),
        treated("RGT", date(2026, 4, 3), [28, 28]),
        Row("RRV", status="approved", planned_start=date(2026, 7, 10), created=date(2026, 6, 20)),
        treated("RRV", date(2026, 5, 5), [28], entry_id="CDF-0043"),
    ]
    terms = {e.entry_id: EntryTerms.of(e) for e in (entry, other)}
    entries = {e.entry_id: e for e in (entry, other)}
    ctx = context(shares=trust_shares(((r.provider_ods, r.created) for r in rows), AS_OF))
    pairs = [("RGT", "CDF-0042"), ("RRV", "CDF-0042"), ("RRV", "CDF-0043"), ("RRV", "CDF-9999")]
    together = forecast_pairs(pairs, rows, terms, entries, ctx)
    assert [(r.trust_ods, r.entry_id) for r in together] == pairs[:3]  # no list entry: left out
    for result, pair in zip(together, pairs, strict=False):
        alone = forecast_pairs([pair], rows, terms, entries, ctx)
        assert alone == [result]
    assert together[1].pipeline > 0 and together[1].new_approvals > 0
