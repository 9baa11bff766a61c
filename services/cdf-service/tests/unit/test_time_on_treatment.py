from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdf_service.domain.time_on_treatment import (
    DEFAULT_MIN_HISTORY,
    KaplanMeierCurve,
    Observation,
    kaplan_meier,
    observation_from_treatment,
    time_on_treatment_curve,
)

# Freireich et al. (1963) 6-MP arm, remission times in weeks; "*" (here stopped=False) = censored.
# The classic textbook Kaplan–Meier example (e.g. Kleinbaum & Klein, Survival Analysis, ch. 2).
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False),
    (11, False), (13, True), (16, True), (17, False), (19, False), (20, False), (22, True),
    (23, True), (25, False), (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip


def six_mp() -> KaplanMeierCurve:
    return kaplan_meier(Observation(t, stopped) for t, stopped in SIX_MP)


# Product-limit steps written out from the risk sets (n at risk, d events):
S6 = (21 - 3) / 21  # 21 at risk, 3 events
S7 = S6 * (17 - 1) / 17  # 21 - 3 events - 1 censored at 6 = 17
S10 = S7 * (15 - 1) / 15  # 16 minus the one censored at 9
S13 = S10 * (12 - 1) / 12  # 15 - (1 event + 1 censored at 10) - 1 censored at 11
S16 = S13 * (11 - 1) / 11
S22 = S16 * (7 - 1) / 7  # 10 minus censored 17, 19, 20
S23 = S22 * (6 - 1) / 6


@pytest.mark.parametrize(
    ("t", "printed"),
    [(6, 0.857), (7, 0.807), (10, 0.753), (13, 0.690), (16, 0.627), (22, 0.538), (23, 0.448)],
)
def test_six_mp_matches_the_textbook(t: float, printed: float) -> None:
    assert round(six_mp().survival(t), 3) == printed


def test_six_mp_step_function_between_and_beyond_times() -> None:
    curve = six_mp()
    assert curve.survival(0) == 1.0
    assert curve.survival(5.99) == 1.0
    assert curve.survival(12.5) == pytest.approx(S10)
    assert curve.survival(100) == pytest.approx(S23)  # last level carried on past 35


def test_six_mp_table() -> None:
    rows = {row.time: row for row in six_mp().rows}
    assert [(r.at_risk, r.events, r.censored) for r in (rows[6], rows[10], rows[23], rows[35])] == [
        (21, 3, 1),
        (15, 1, 1),
        (6, 1, 0),
        (1, 0, 1),
    ]
    assert rows[9].survival == pytest.approx(S7)  # censoring-only rows keep the level
    assert six_mp().observations == 21


def test_six_mp_median_is_23_weeks() -> None:
    assert six_mp().median() == 23


def test_median_is_none_when_curve_stays_above_half() -> None:
    assert kaplan_meier([Observation(5, True), Observation(9, False), Observation(9, False)]).median() is None


def test_restricted_mean_of_six_mp_to_last_time() -> None:
    # Area under the steps from 0 to 35 (widths x levels).
    expected = 6 * 1 + 1 * S6 + 3 * S7 + 3 * S10 + 3 * S13 + 6 * S16 + 1 * S22 + 12 * S23
    assert six_mp().restricted_mean(0, 35) == pytest.approx(expected)
    assert expected == pytest.approx(23.287, abs=0.001)  # as printed by R survfit(rmean=35)


def test_expected_remaining_conditional_on_time_elapsed() -> None:
    curve = six_mp()
    # Without a horizon the integral stops at the last observed time (35).
    area_10_to_35 = 3 * S10 + 3 * S13 + 6 * S16 + 1 * S22 + 12 * S23
    assert curve.expected_remaining(10) == pytest.approx(area_10_to_35 / S10)
    assert curve.expected_remaining(30) == pytest.approx(5.0)  # (35 - 30) x S23 / S23
    # With a horizon the last level is carried on: flat from 30 to 50, so all 20 days count.
    assert curve.expected_remaining(30, horizon_days=20) == pytest.approx(20.0)
    # A horizon shorter than the data truncates: 10 -> 16 is 3 x S10 + 3 x S13.
    assert curve.expected_remaining(10, horizon_days=6) == pytest.approx((3 * S10 + 3 * S13) / S10)
    assert curve.expected_remaining(40) == 0.0


def test_expected_remaining_is_zero_past_a_curve_that_reached_zero() -> None:
    curve = kaplan_meier([Observation(10, True), Observation(20, True)])
    assert curve.survival(20) == 0.0
    assert curve.expected_remaining(25, horizon_days=100) == 0.0
    assert curve.expected_remaining(0) == pytest.approx((10 * 1 + 10 * 0.5) / 1)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        kaplan_meier([])
    with pytest.raises(ValueError):
        kaplan_meier([Observation(-1, True)])
    with pytest.raises(ValueError):
        six_mp().expected_remaining(-1)


def test_min_history_fallback() -> None:
    history = [Observation(float(d), True) for d in range(DEFAULT_MIN_HISTORY - 1)]
    assert DEFAULT_MIN_HISTORY == 20
    assert time_on_treatment_curve(history) is None
    history.append(Observation(50.0, False))
    curve = time_on_treatment_curve(history)
    assert curve is not None and curve.observations == 20
    assert time_on_treatment_curve([Observation(1, True)] * 3, min_history=3) is not None
    assert time_on_treatment_curve([Observation(1, True)] * 2, min_history=3) is None


def test_observation_from_treatment_dates() -> None:
    start = date(2026, 4, 1)
    # Stopped: final administration + one cycle (the last cycle covers a whole cycle length).
    assert observation_from_treatment(start, date(2026, 5, 13), date(2026, 6, 30), 21) == Observation(
        42 + 21, stopped=True
    )
    # Running: censored at as-of; a stop after as-of is not known yet.
    assert observation_from_treatment(start, None, date(2026, 6, 30), 21) == Observation(90, False)
    assert observation_from_treatment(start, date(2026, 7, 2), date(2026, 6, 30), 21) == Observation(90, False)
    assert observation_from_treatment(date(2026, 7, 1), None, date(2026, 6, 30), 21) is None
    with pytest.raises(ValueError):
        observation_from_treatment(start, date(2026, 3, 1), date(2026, 6, 30), 21)


observations = st.lists(
    st.builds(Observation, st.integers(min_value=0, max_value=400).map(float), st.booleans()),
    min_size=1,
    max_size=60,
)


@given(obs=observations, probes=st.lists(st.floats(min_value=0, max_value=500), min_size=2, max_size=10))
def test_survival_is_non_increasing_and_within_unit_interval(obs: list[Observation], probes: list[float]) -> None:
    curve = kaplan_meier(obs)
    values = [curve.survival(t) for t in sorted(probes)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a >= b for a, b in pairwise(values))


@given(
    durations=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=50),
    t=st.integers(0, 320),
)
def test_without_censoring_km_is_the_empirical_share_still_on_treatment(durations: list[int], t: int) -> None:
    curve = kaplan_meier(Observation(float(d), True) for d in durations)
    assert curve.survival(t) == pytest.approx(sum(d > t for d in durations) / len(durations))
    # ... and the area under it is the sample mean duration.
    assert curve.restricted_mean(0, max(durations)) == pytest.approx(sum(durations) / len(durations))


@given(obs=observations, elapsed=st.integers(0, 450), horizon=st.integers(0, 400))
def test_expected_remaining_is_between_zero_and_horizon(obs: list[Observation], elapsed: int, horizon: int) -> None:
    curve = kaplan_meier(obs)
    remaining = curve.expected_remaining(elapsed, horizon_days=horizon)
    assert -1e-9 <= remaining <= horizon + 1e-9


@given(obs=observations)
def test_table_accounts_for_everyone(obs: list[Observation]) -> None:
    rows = kaplan_meier(obs).rows
    assert sum(r.events + r.censored for r in rows) == len(obs)
    for a, b in pairwise(rows):
        assert b.at_risk == a.at_risk - a.events - a.censored
