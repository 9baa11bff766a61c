"""The forecast's newer parts, each against a hand computation: the trust's SACT horizon, prices by day,
approvals still to come, cycles spaced as SACT shows them and what a quiet spell says, the band."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from decimal import Decimal

import pytest
from forecast_entries import make_entry

from cdf_service.domain.forecast import Band, forecast_entry
from cdf_service.domain.forecast_inputs import CyclePattern, NewApprovals, PendingApproval, Treatment, months_covered
from cdf_service.domain.national_list import EntryStatus, EntryTerms
from cdf_service.domain.time_on_treatment import kaplan_meier, observation_from_cycles, observation_from_treatment

D = Decimal
AS_OF = date(2026, 6, 30)


def forecast(**overrides: object):  # type: ignore[no-untyped-def]
    inputs: dict[str, object] = {
        "trust_ods": "RRV",
        "entry": make_entry(),
        "treatments": [],
        "pending": [],
        "curve": None,
        "as_of": AS_OF,
        "start_rate": 1.0,
    }
    return forecast_entry(**{**inputs, **overrides})


def by_month(result) -> dict[int, tuple[Decimal, Decimal, Decimal, Decimal]]:  # type: ignore[no-untyped-def]
    return {m.month_start.month: (m.actual, m.active, m.pipeline, m.new_approvals) for m in result.months}


# --- The trust's SACT horizon ---------------------------------------------------------------------


def test_a_running_treatment_is_projected_from_where_the_trusts_sact_ends() -> None:
    # SACT covers to 31 May; as-of 30 June. Cycles 1 Apr, 29 Apr, 27 May seen (3 of 6): the next three
    # fall on 24 Jun, 22 Jul, 19 Aug. Projecting from as-of would have lost 24 Jun.
    treatment = Treatment(date(2026, 4, 1), None, {date(2026, 4, 1): 1, date(2026, 4, 29): 1, date(2026, 5, 27): 1})
    result = forecast(treatments=[treatment], sact_to=date(2026, 5, 31))
    months = by_month(result)
    assert [months[m][1] for m in (6, 7, 8, 9)] == [D("1000.00"), D("1000.00"), D("1000.00"), D("0.00")]
    assert result.sact_to == date(2026, 5, 31) and result.active_projection == D("3000.00")
    assert months_covered(date(2026, 5, 31), "2026/27") == 2 and months_covered(date(2026, 3, 31), "2026/27") == 0


def test_an_approval_lapses_only_once_sact_covers_its_window() -> None:
    # Planned 20 May, lapse due 17 Jun < as-of 30 Jun; the trust's SACT ends 31 May, so its start may be unseen.
    pending = [PendingApproval(date(2026, 5, 20))]
    assert forecast(pending=pending).pipeline == D("0.00")
    late = forecast(pending=pending, sact_to=date(2026, 5, 31))
    # expected start 1 June (the day after SACT ends): 1 Jun, 29 Jun, 27 Jul, 24 Aug, 21 Sep, 19 Oct
    assert late.pipeline == D("6000.00") and by_month(late)[6][2] == D("2000.00")


# --- Prices by day --------------------------------------------------------------------------------


def test_cycles_are_priced_on_their_day_from_the_versions_known() -> None:
    v1 = make_entry(version=1, effective_from=date(2025, 1, 1), effective_to=date(2026, 5, 15))
    v2 = make_entry(
        version=2, cost_per_cycle=D("1100.00"), effective_from=date(2026, 5, 15), effective_to=date(2026, 8, 1)
    )
    v3 = make_entry(version=3, cost_per_cycle=D("900.00"), effective_from=date(2026, 8, 1))  # announced ahead
    terms = EntryTerms([v3, v1, v2])
    seen = {date(2026, 5, 1): 1, date(2026, 5, 29): 1, date(2026, 6, 26): 1}
    result = forecast(entry=v2, treatments=[Treatment(date(2026, 5, 1), None, seen)], terms=terms)
    months = by_month(result)
    assert months[5][0] == D("2100.00")  # 1 May at 1000, 29 May at 1100
    assert months[6][0] == D("1100.00")
    assert (months[7][1], months[8][1], months[9][1]) == (
        D("1100.00"),
        D("900.00"),
        D("900.00"),
    )  # 24 Jul, 21 Aug, 18 Sep
    assert months[10][1] == D("0.00")  # six cycles in all


def test_entry_terms_know_which_days_take_approvals() -> None:
    opened = make_entry(version=1, managed_access_start=date(2026, 1, 1), managed_access_end=date(2026, 12, 31))
    closing = dataclasses.replace(opened, version=2, status=EntryStatus.CLOSED, effective_from=date(2026, 10, 1))
    terms = EntryTerms([opened, closing])
    assert terms.approval_days(date(2026, 9, 25), date(2026, 10, 5)) == 6  # closed from 1 October
    assert terms.approval_days(date(2025, 12, 30), date(2026, 1, 2)) == 2  # managed access from 1 January
    assert EntryTerms.of(opened).approval_days(date(2026, 12, 30), date(2027, 1, 3)) == 2  # to 31 December
    assert terms.cost_on(date(2020, 1, 1)) == 1000.0
    with pytest.raises(ValueError):
        EntryTerms([])


# --- Approvals still to come ----------------------------------------------------------------------


def test_new_approvals_hand_computed() -> None:
    # 0.1 approvals a day, start rate 0.5, 10 days to start; six 28-day cycles each (fallback curve).
    # The entry closes to approvals from 1 September: July (31 days) and August (31) take approvals.
    open_until = make_entry(version=1, effective_to=date(2026, 9, 1))
    closed = dataclasses.replace(
        open_until, version=2, status=EntryStatus.CLOSED, effective_from=date(2026, 9, 1), effective_to=None
    )
    rate = NewApprovals(per_day=0.1, per_day_variance=0.0001, start_lag_days=10)
    result = forecast(terms=EntryTerms([open_until, closed]), new_approvals=rate, start_rate=0.5)
    # July: 3.1 approvals -> 1.55 starts on 16 Jul + 10 = 26 Jul: 26 Jul, 23 Aug, 20 Sep, 18 Oct, 15 Nov, 13 Dec.
    # August: 1.55 starts on 26 Aug: 26 Aug, 23 Sep, 21 Oct, 18 Nov, 16 Dec, 13 Jan.
    months = by_month(result)
    assert [months[m][3] for m in (7, 8, 9, 10, 11, 12, 1, 2)] == [
        D("1550.00"),
        D("3100.00"),
        D("3100.00"),
        D("3100.00"),
        D("3100.00"),
        D("3100.00"),
        D("1550.00"),
        D("0.00"),
    ]
    assert result.new_approvals == D("18600.00")  # 3.1 starts x 6 cycles x 1000
    # Compound Poisson: 1.55 x E[X^2] per month (X = 6 cycles: 36e6), plus the rate's variance x
    # (spend per unit rate: 62 days x 0.5 x 6000)^2.
    expected_var = 2 * 1.55 * 36e6 + 0.0001 * (62 * 0.5 * 6000) ** 2
    assert result.sd == pytest.approx(math.sqrt(expected_var))
    assert forecast(new_approvals=NewApprovals(per_day=0.0)).new_approvals == D("0.00")


# --- Cycles as SACT spaces them, and what a quiet spell says --------------------------------------


def test_cycles_fall_every_interval_seen_and_time_on_treatment_counts_cycles() -> None:
    # Every 28-day cycle runs 3 days late in SACT: the next ones are 31 days apart, still six in all.
    seen = {date(2026, 4, 1): 1, date(2026, 5, 2): 1, date(2026, 6, 2): 1}
    result = forecast(treatments=[Treatment(date(2026, 4, 1), None, seen)], cycles=CyclePattern(31.0))
    months = by_month(result)
    assert [months[m][1] for m in (7, 8, 9)] == [D("1000.00"), D("1000.00"), D("1000.00")]  # 3 Jul, 3 Aug, 3 Sep
    assert result.active_projection == D("3000.00")
    assert observation_from_cycles(3, True, 28).duration_days == 84
    assert observation_from_cycles(3, False, 28).duration_days == 83.5  # has had at least 3


def test_a_quiet_spell_makes_a_stop_likelier() -> None:
    # Curve: half stop after 2 cycles, half after 4 (28-day list cycle). A patient with 2 cycles seen, the
    # latest on 1 Jun: P(3rd | at least 2) = S(56) / S(55.5) = 0.5 / 1.
    curve = kaplan_meier([observation_from_cycles(2, True, 28), observation_from_cycles(4, True, 28)])
    patient = Treatment(date(2026, 5, 4), None, {date(2026, 5, 4): 1, date(2026, 6, 1): 1})
    recent = forecast(treatments=[patient], curve=curve, sact_to=date(2026, 6, 10))
    assert recent.active_projection == D("1000.00")  # 29 Jun and 27 Jul at 0.5 each
    # SACT to 30 Jun: 29 days without a cycle. Gaps between cycles: 90% are 28 days, 10% 35; so a continuing
    # treatment is this quiet with probability 0.1: P(next) = 0.5 x 0.1 / (0.5 x 0.1 + 1 - 0.5) = 1/11.
    gaps = tuple(1.0 if d < 28 else 0.1 if d < 35 else 0.0 for d in range(40))
    quiet = forecast(treatments=[patient], curve=curve, cycles=CyclePattern(28.0, gaps))
    assert quiet.active_projection == D("181.82")  # 2 cycles (1 Jul, 29 Jul) x 1000 / 11
    silent = forecast(treatments=[patient], curve=curve, cycles=CyclePattern(28.0, gaps[:29]))
    assert silent.active_projection == D("0.00")  # quieter than any gap SACT has shown: stopped


def test_observation_of_a_running_treatment_stops_at_what_sact_shows() -> None:
    start = date(2026, 4, 1)
    assert observation_from_treatment(start, None, date(2026, 6, 30), 28, date(2026, 5, 27)).duration_days == 83.5
    assert observation_from_treatment(start, None, date(2026, 6, 30), 28).duration_days == 90


# --- The band -------------------------------------------------------------------------------------


def test_a_calibrated_band_sits_where_the_backtest_put_it() -> None:
    pending = [PendingApproval(date(2026, 8, 10))]  # Bernoulli(0.9) x 6000: sd = 6000 x 0.3 = 1800
    result = forecast(pending=pending, start_rate=0.9, band=Band(low=-2.0, high=0.5))
    assert result.sd == pytest.approx(1800.0)
    assert (result.outturn, result.lower, result.upper) == (D("5400.00"), D("1800.00"), D("6300.00"))
