from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from forecast_entries import make_entry
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.financial_year import financial_year_of
from cdf_service.domain.forecast import NORMAL_P90, Band, ForecastBasis, forecast_entry, run_rate_outturn
from cdf_service.domain.forecast_inputs import CyclePattern, PendingApproval, Treatment, historical_start_rate
from cdf_service.domain.time_on_treatment import Observation, kaplan_meier


def money(value: str) -> Decimal:
    return Decimal(value)


# --- Financial year ------------------------------------------------------------------------------


def test_run_rate_outturn() -> None:
    assert run_rate_outturn(money("6000.00"), 3) == money("24000.00")  # 6000 / 3 x 12
    assert run_rate_outturn(money("1000.00"), 7) == money("1714.29")  # 1714.2857... to pence
    with pytest.raises(ValueError):
        run_rate_outturn(money("1"), 0)


def test_historical_start_rate() -> None:
    assert historical_start_rate(0, 0) == 0.9  # no history -> configured default
    assert historical_start_rate(0, 0, default=0.75) == 0.75
    assert historical_start_rate(3, 4) == 0.75
    with pytest.raises(ValueError):
        historical_start_rate(5, 4)


# --- Hand-computed synthetic trust, expected-duration fallback -----------------------------------
#
# Entry: £1,000.00 per cycle, 28-day cycles, expected 6 cycles (168 days). No curve -> fallback:
# every patient has exactly 6 cycles (k = 0..5). As of Tuesday 30 June 2026 (end of M3, FY 2026/27).
#
# Treatment A: started 1 Apr 2026, still on treatment. Cycles every 28 days from the start:
#   k0 1 Apr, k1 29 Apr, k2 27 May, k3 24 Jun (SACT: Apr 2, May 1, Jun 1 -> actuals)
#   then k4 22 Jul, k5 19 Aug (projected, 1 each); k6 would be 16 Sep but 6 x 28 = 168 -> none.
# Treatment B: started 11 Mar 2026 (last FY), stopped 6 May. SACT: Mar 1 (not this FY), Apr 1, May 1.
# Pending P1: planned 10 Aug 2026 -> 10 Aug, 7 Sep, 5 Oct, 2 Nov, 30 Nov, 28 Dec (6 cycles).
# Pending P2: planned 20 Jun 2026, in the past but lapse due date 18 Jul >= 30 Jun, so still live;
#   expected start = 1 Jul -> 1 Jul, 29 Jul, 26 Aug, 23 Sep, 21 Oct, 18 Nov.
# Pending P3: planned 1 May 2026 -> due 29 May < 30 Jun: will lapse, excluded.
# Pending P4: planned 15 Feb 2027 -> 15 Feb, 15 Mar; 12 Apr 2027 is next FY.
# Start rate 0.9 -> each pipeline cycle is worth 0.9 x £1,000 = £900.
#
#          actual            active      pipeline                  total
#   M1 Apr 3 x 1000 = 3000   0           0                         3000
#   M2 May 2 x 1000 = 2000   0           0                         2000
#   M3 Jun 1 x 1000 = 1000   0           0                         1000
#   M4 Jul 0                 1000 (A k4) 2 x 900 = 1800 (P2)       2800
#   M5 Aug 0                 1000 (A k5) 900 (P1) + 900 (P2)       2800
#   M6 Sep                   0           900 + 900                 1800
#   M7 Oct                   0           900 + 900                 1800
#   M8 Nov                   0           2 x 900 (P1) + 900 (P2)   2700
#   M9 Dec                   0           900 (P1)                   900
#   M10 Jan                  0           0                            0
#   M11 Feb                  0           900 (P4)                   900
#   M12 Mar                  0           900 (P4)                   900
#   totals: actual 6000, active 2000, pipeline 12600 (= 6x900 + 6x900 + 2x900), outturn 20600.
#
# Band: durations are fixed under the fallback, so only starts vary. Per approval with n cycles:
#   Var = p n^2 - (p n)^2 = n^2 p (1 - p) = n^2 x 0.09  ->  P1 36 x 0.09 = 3.24, P2 3.24, P4 4 x 0.09 = 0.36
#   total 6.84 cycles^2; sd = 1000 x sqrt(6.84) = 2615.339...; the default P10-P90 band is the normal one,
#   1.28155 x sd = 3351.692...: lower = 20600 - 3351.69 = 17248.31, upper = 20600 + 3351.69 = 23951.69.
# Run-rate for comparison: 6000 / 3 months x 12 = 24000.

AS_OF = date(2026, 6, 30)
A_CYCLES = (date(2026, 4, 1), date(2026, 4, 29), date(2026, 5, 27), date(2026, 6, 24))


def fallback_trust() -> dict[str, Any]:
    return {
        "trust_ods": "RRV",
        "entry": make_entry(),
        "treatments": [
            Treatment(date(2026, 4, 1), None, {day: 1 for day in A_CYCLES}),
            Treatment(
                date(2026, 3, 11), date(2026, 5, 6), {date(2026, 3, 11): 1, date(2026, 4, 8): 1, date(2026, 5, 6): 1}
            ),
        ],
        "pending": [
            PendingApproval(date(2026, 8, 10)),
            PendingApproval(date(2026, 6, 20)),
            PendingApproval(date(2026, 5, 1)),
            PendingApproval(date(2027, 2, 15)),
        ],
        "curve": None,
        "as_of": AS_OF,
        "start_rate": 0.9,
    }


def test_hand_computed_fallback_forecast() -> None:
    result = forecast_entry(**fallback_trust())
    by_month = [(m.actual, m.active, m.pipeline) for m in result.months]
    d = Decimal
    assert by_month == [
        (d("3000.00"), d("0.00"), d("0.00")),
        (d("2000.00"), d("0.00"), d("0.00")),
        (d("1000.00"), d("0.00"), d("0.00")),
        (d("0.00"), d("1000.00"), d("1800.00")),
        (d("0.00"), d("1000.00"), d("1800.00")),
        (d("0.00"), d("0.00"), d("1800.00")),
        (d("0.00"), d("0.00"), d("1800.00")),
        (d("0.00"), d("0.00"), d("2700.00")),
        (d("0.00"), d("0.00"), d("900.00")),
        (d("0.00"), d("0.00"), d("0.00")),
        (d("0.00"), d("0.00"), d("900.00")),
        (d("0.00"), d("0.00"), d("900.00")),
    ]
    assert result.actual_to_date == d("6000.00")
    assert result.active_projection == d("2000.00")
    assert result.pipeline == d("12600.00")
    assert result.outturn == d("20600.00")
    assert result.lower == d("17248.31")
    assert result.upper == d("23951.69")
    assert NORMAL_P90 * 1000 * math.sqrt(6.84) == pytest.approx(3351.692, abs=0.001)
    assert (result.financial_year, result.basis, result.entry_version) == (
        "2026/27",
        ForecastBasis.EXPECTED_DURATION,
        2,
    )
    assert run_rate_outturn(result.actual_to_date, 3) == d("24000.00")


# --- Hand-computed synthetic trust, Kaplan–Meier curve -------------------------------------------
#
# Curve from four stopped treatments of 28, 56, 84 and 112 days:
#   S = 1 on [0,28), 0.75 on [28,56), 0.5 on [56,84), 0.25 on [84,112), 0 from 112.
# Active treatment started 3 Jun 2026: elapsed at 30 Jun = 27 days, S(27) = 1.
#   next cycles: 1 Jul (28 days, p = 0.75), 29 Jul (56, 0.5), 26 Aug (84, 0.25), 23 Sep (112, 0 -> stop)
#   Jul = (0.75 + 0.5) x 1000 = 1250, Aug = 0.25 x 1000 = 250; actual Jun = 1 cycle = 1000.
#   count N is 0, 1, 2, 3 with probability 1/4 each: E[N] = 1.5, E[N^2] = 3.5, Var = 3.5 - 2.25 = 1.25.
# Pending planned 1 Sep 2026, start rate 0.5 (3 of 6 past approvals started):
#   1 Sep (0 days, 1), 29 Sep (0.75), 27 Oct (0.5), 24 Nov (0.25)
#   Sep = 0.5 x 1.75 x 1000 = 875, Oct = 0.5 x 0.5 x 1000 = 250, Nov = 0.5 x 0.25 x 1000 = 125.
#   N is 1..4 w.p. 1/4: E[N] = 2.5, E[N^2] = 7.5; Var(B N) = 0.5 x 7.5 - (0.5 x 2.5)^2 = 2.1875.
# Totals: actual 1000, active 1500, pipeline 1250, outturn 3750.
# Band: sd = 1000 x sqrt(1.25 + 2.1875) = 1854.05; 1.28155 x sd = 2376.06
#   upper 3750 + 2376.06 = 6126.06; lower 3750 - 2376.06 = 1373.94 (a wider band stops at the 1000 spent).


def km_trust() -> dict[str, Any]:
    curve = kaplan_meier(Observation(float(d), True) for d in (28, 56, 84, 112))
    return {
        "trust_ods": "RRV",
        "entry": make_entry(),
        "treatments": [Treatment(date(2026, 6, 3), None, {date(2026, 6, 3): 1})],
        "pending": [PendingApproval(date(2026, 9, 1))],
        "curve": curve,
        "as_of": AS_OF,
        "start_rate": historical_start_rate(3, 6),
    }


def test_hand_computed_kaplan_meier_forecast() -> None:
    result = forecast_entry(**km_trust())
    months = {m.month_start.month: m for m in result.months}
    assert months[6].actual == money("1000.00")
    assert (months[7].active, months[8].active, months[9].active) == (
        money("1250.00"),
        money("250.00"),
        money("0.00"),
    )
    assert (months[9].pipeline, months[10].pipeline, months[11].pipeline, months[12].pipeline) == (
        money("875.00"),
        money("250.00"),
        money("125.00"),
        money("0.00"),
    )
    assert (result.actual_to_date, result.active_projection, result.pipeline, result.outturn) == (
        money("1000.00"),
        money("1500.00"),
        money("1250.00"),
        money("3750.00"),
    )
    assert result.upper == money("6126.06")
    assert result.lower == money("1373.94")
    wide = forecast_entry(**km_trust(), band=Band(-2.0, 2.0))
    assert (wide.lower, wide.upper) == (money("1000.00"), money("7458.10"))  # 3750 - 3708.10 < 1000 spent
    assert result.basis is ForecastBasis.KAPLAN_MEIER


def test_patients_sharing_dates_each_count() -> None:
    """Treatments started, or approvals planned, on one day are projected once and counted per patient:
    three of each give three times the months and a spread sqrt(3) times as wide (independent patients)."""
    one = forecast_entry(**km_trust())
    inputs = km_trust()
    inputs["treatments"] = inputs["treatments"] * 3
    inputs["pending"] = inputs["pending"] * 3
    three = forecast_entry(**inputs)
    for single, tripled in zip(one.months, three.months, strict=True):
        assert (tripled.actual, tripled.active, tripled.pipeline) == (
            3 * single.actual,
            3 * single.active,
            3 * single.pipeline,
        )
    spread_one, spread_three = one.upper - one.outturn, three.upper - three.outturn
    assert abs(spread_three - spread_one * Decimal(math.sqrt(3))) <= Decimal("0.02")


def test_anything_after_as_of_is_unknown_so_backtests_can_pass_full_histories() -> None:
    inputs = fallback_trust()
    later = [
        # A's later SACT months and a stop after as-of: not known on 30 June.
        Treatment(date(2026, 4, 1), date(2026, 8, 19), {**{d: 1 for d in A_CYCLES}, date(2026, 7, 22): 1}),
        inputs["treatments"][1],
        Treatment(date(2026, 7, 5), None, {date(2026, 7, 5): 1}),  # started after as-of
    ]
    assert forecast_entry(**{**inputs, "treatments": later}) == forecast_entry(**inputs)


def test_patient_past_the_expected_duration_projects_nothing() -> None:
    # Started 1 Jan 2026: 180 days by 30 Jun > 168-day expected duration.
    result = forecast_entry(**{**fallback_trust(), "treatments": [Treatment(date(2026, 1, 1), None)], "pending": []})
    assert result.outturn == money("0.00") and result.upper == money("0.00")


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="ODS"):
        forecast_entry(**{**fallback_trust(), "trust_ods": "rrv!"})
    with pytest.raises(ValueError, match="start_rate"):
        forecast_entry(**{**fallback_trust(), "start_rate": 1.5})


@settings(max_examples=60, deadline=None)
@given(
    starts=st.lists(st.integers(min_value=0, max_value=364), max_size=8),
    planned=st.lists(st.integers(min_value=0, max_value=364), max_size=8),
    rate=st.floats(min_value=0, max_value=1),
    as_of_offset=st.integers(min_value=0, max_value=364),
    use_curve=st.booleans(),
)
def test_forecast_invariants(
    starts: list[int], planned: list[int], rate: float, as_of_offset: int, use_curve: bool
) -> None:
    base = date(2026, 1, 1)
    as_of = date.fromordinal(date(2026, 4, 1).toordinal() + as_of_offset)
    curve = kaplan_meier(Observation(float(d), d % 3 != 0) for d in range(20, 400, 19)) if use_curve else None
    result = forecast_entry(
        trust_ods="RRV",
        entry=make_entry(),
        treatments=[Treatment(date.fromordinal(base.toordinal() + s), None) for s in starts],
        pending=[PendingApproval(date.fromordinal(base.toordinal() + p + 90)) for p in planned],
        curve=curve,
        as_of=as_of,
        start_rate=rate,
    )
    assert result.outturn == sum((m.total for m in result.months), Decimal(0))
    assert result.actual_to_date <= result.lower <= result.outturn <= result.upper
    assert all(m.active >= 0 and m.pipeline >= 0 for m in result.months)
    # Nothing is projected into months already over.
    current = financial_year_of(as_of).month
    assert all(m.active == m.pipeline == 0 for m in result.months if m.month < current)


@pytest.mark.parametrize(
    ("planned", "pipeline"),
    [
        # due 2 Jun + 28 = 30 Jun = as-of: still live, starts 1 Jul, 6 cycles x 0.9 x 1000 = 5400
        (date(2026, 6, 2), money("5400.00")),
        # due 1 Jun + 28 = 29 Jun < as-of: it will lapse, nothing in the pipeline
        (date(2026, 6, 1), money("0.00")),
    ],
)
def test_pipeline_keeps_approvals_until_their_lapse_due_date(planned: date, pipeline: Decimal) -> None:
    inputs = {**fallback_trust(), "treatments": [], "pending": [PendingApproval(planned)]}
    assert forecast_entry(**inputs).pipeline == pipeline


# --- What SACT v4.0 says of a treatment's cycles: a pack of an oral drug (items 82, 83) -------------


def test_a_dispensed_pack_costs_its_cycles_when_dispensed_and_the_projection_resumes_after_it() -> None:
    entry = make_entry(expected_cycles=12)
    as_of = date(2026, 6, 30)
    # started 1 Apr; cycles 1-3 dispensed 1 Apr (one row, item 83 = 3, item 82 = 28), cycle 4 on 24 Jun
    # covering three more cycles: 24 Jun, 22 Jul, 19 Aug (dispensed 24 Jun)
    packed = Treatment(
        start=date(2026, 4, 1),
        stop=None,
        cycles_by_month={date(2026, 4, 1): 3, date(2026, 6, 24): 3},
        last_cycle_start=date(2026, 8, 19),
        cycle_length_days=28,
    )
    result = forecast_entry(
        trust_ods="RRV", entry=entry, treatments=[packed], pending=[], curve=None, as_of=as_of, start_rate=0.9
    )
    by_month = {m.month_start: m for m in result.months}
    assert by_month[date(2026, 4, 1)].actual == money("3000.00") and by_month[date(2026, 6, 1)].actual == money(
        "3000.00"
    )
    # the next cycle is due 16 Sep (19 Aug + 28): nothing projected for July and August, already dispensed
    assert by_month[date(2026, 7, 1)].active == by_month[date(2026, 8, 1)].active == money("0.00")
    # six cycles seen (6 x 28 days on treatment): cycles 7..12 every 28 days from 16 Sep, 16 Sep, 14 Oct,
    # 11 Nov, 9 Dec, 6 Jan, 3 Feb, while within the expected 12 x 28 days
    assert sum(m.active for m in result.months) == money("6000.00")
    assert [m.month_start.month for m in result.months if m.active] == [9, 10, 11, 12, 1, 2]
    # without what SACT says of the pack's cycles, it would project 22 Jul and 19 Aug again
    blind = Treatment(start=packed.start, stop=None, cycles_by_month=packed.cycles_by_month)
    again = forecast_entry(
        trust_ods="RRV", entry=entry, treatments=[blind], pending=[], curve=None, as_of=as_of, start_rate=0.9
    )
    assert {m.month_start.month for m in again.months if m.active} >= {7, 8}


def weekly(cycle_length_days: int | None) -> Treatment:
    """Started 1 Jun, four cycles a week apart: 1, 8, 15 and 22 Jun."""
    days = [date(2026, 6, 1) + timedelta(days=7 * k) for k in range(4)]
    return Treatment(
        days[0], None, {d: 1 for d in days}, last_cycle_start=days[-1], cycle_length_days=cycle_length_days
    )


def test_the_cycle_length_sact_gives_spaces_the_projected_cycles() -> None:
    entry = make_entry(expected_cycles=4, cycle_length_days=28)
    inputs: dict[str, Any] = {"trust_ods": "RRV", "entry": entry, "pending": [], "curve": None, "start_rate": 0.9}
    result = forecast_entry(**inputs, treatments=[weekly(7)], as_of=date(2026, 6, 30))
    # four 7-day cycles seen: 28 days on treatment. The next, due 29 Jun (22 Jun + 7), is not in SACT to
    # 30 Jun: from 1 Jul every 7 days, cycle k (k = 4, 5, ...) given while k x 7 < the expected 4 x 28 = 112
    # days: cycles 4..15 on 1, 8, 15, 22, 29 Jul; 5, 12, 19, 26 Aug; 2, 9, 16 Sep
    active = {m.month_start.month: m.active for m in result.months if m.active}
    assert active == {7: money("5000.00"), 8: money("4000.00"), 9: money("3000.00")}
    # at the list's 28 days, four cycles would be the whole expected course: nothing more
    assert forecast_entry(**inputs, treatments=[weekly(None)], as_of=date(2026, 6, 30)).active_projection == 0
    # the entry's delays carry over: its cycles 35 days apart for 28-day cycles (a quarter longer), a 7-day
    # treatment's are 8.75 apart: from 1 Jul, days 0, 9, 18, 26, 35, 44, 52, 61, 70, 79, 88, 96 (rounded)
    delayed = forecast_entry(**inputs, treatments=[weekly(7)], as_of=date(2026, 6, 30), cycles=CyclePattern(35.0))
    active = {m.month_start.month: m.active for m in delayed.months if m.active}
    assert active == {7: money("4000.00"), 8: money("4000.00"), 9: money("3000.00"), 10: money("1000.00")}


def test_a_cycle_length_sact_gives_as_the_lists_changes_nothing() -> None:
    # SACT v4.0 files give item 82 on every row, usually the list's length; v3.0 files and the backtest's
    # history give none: the same forecast
    inputs = fallback_trust()
    reported = [
        dataclasses.replace(t, last_cycle_start=max(t.cycles_by_month), cycle_length_days=28)
        for t in inputs["treatments"]
    ]
    pattern = CyclePattern(31.5, (1.0,) * 30 + (0.5,) * 20)
    assert forecast_entry(**{**inputs, "treatments": reported}, cycles=pattern) == forecast_entry(
        **inputs, cycles=pattern
    )
