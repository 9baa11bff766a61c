from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdf_service.domain.completeness import (
    NATIONAL_EXPECTATION,
    ApprovalPeriod,
    completeness_by_trust,
    is_active_in,
    month_bounds,
    sact_completeness,
)

JUNE = date(2026, 6, 1)


def period(
    approval_id: str, trust: str = "RRV", start: date = date(2026, 5, 1), end: date | None = None
) -> ApprovalPeriod:
    return ApprovalPeriod(approval_id, trust, start, end)


def test_month_bounds_handle_month_lengths() -> None:
    assert month_bounds(date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_bounds(date(2028, 2, 29)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("start", "end", "active"),
    [
        (date(2026, 6, 30), None, True),  # starts on the last day
        (date(2026, 7, 1), None, False),  # starts next month
        (date(2026, 1, 1), date(2026, 6, 1), True),  # ends on the first day
        (date(2026, 1, 1), date(2026, 5, 31), False),  # ended last month
    ],
)
def test_active_in_month_uses_inclusive_ends(start: date, end: date | None, active: bool) -> None:
    assert is_active_in(period("A", start=start, end=end), JUNE) is active


def test_nine_of_ten_meets_the_90_percent_expectation() -> None:
    approvals = [period(f"A{i}") for i in range(10)]
    result = sact_completeness("RRV", date(2026, 6, 17), approvals, {f"A{i}" for i in range(9)})
    assert (result.numerator, result.denominator, result.share) == (9, 10, Decimal("0.9000"))
    assert result.meets_expectation
    assert result.month == JUNE and result.expectation == NATIONAL_EXPECTATION


def test_below_expectation_even_when_rounded_share_looks_like_90() -> None:
    # 8999 / 10000 = 0.8999; and 17999/20000 = 0.89995 rounds to 0.9000 but is still below 90%.
    approvals = [period(f"A{i}") for i in range(20000)]
    result = sact_completeness("RRV", JUNE, approvals, {f"A{i}" for i in range(17999)})
    assert result.share == Decimal("0.9000")
    assert not result.meets_expectation


def test_only_this_trusts_active_approvals_count() -> None:
    approvals = [
        period("A1"),
        period("A2"),
        period("B1", trust="RJ1"),  # another trust: neither numerator nor denominator
        period("A3", end=date(2026, 5, 20)),  # stopped before June
        period("A4", start=date(2026, 7, 2)),  # not yet started
    ]
    matched = {"A1", "B1", "A3", "A4"}
    result = sact_completeness("RRV", JUNE, approvals, matched)
    assert (result.numerator, result.denominator, result.share) == (1, 2, Decimal("0.5000"))
    assert not result.meets_expectation


def test_no_active_approvals_has_no_share_and_is_not_flagged() -> None:
    result = sact_completeness("RRV", JUNE, [], set())
    assert (result.numerator, result.denominator, result.share, result.meets_expectation) == (0, 0, None, True)


def test_configurable_expectation_and_validation() -> None:
    approvals = [period("A1"), period("A2")]
    assert sact_completeness("RRV", JUNE, approvals, {"A1"}, expectation=Decimal("0.5")).meets_expectation
    with pytest.raises(ValueError):
        sact_completeness("RRV", JUNE, approvals, {"A1"}, expectation=Decimal("1.5"))
    with pytest.raises(ValueError):
        sact_completeness("not-ods", JUNE, approvals, {"A1"})


def test_report_has_one_row_per_trust_active_that_month() -> None:
    approvals = [period("A1"), period("A2"), period("B1", trust="RJ1"), period("C1", trust="RGT", end=date(2026, 1, 1))]
    report = completeness_by_trust(JUNE, approvals, {"A1", "A2", "C1"})
    assert sorted(report) == ["RJ1", "RRV"]
    assert report["RRV"].meets_expectation and report["RRV"].share == Decimal("1.0000")
    assert not report["RJ1"].meets_expectation and report["RJ1"].share == Decimal("0.0000")


@given(n=st.integers(min_value=1, max_value=200), data=st.data())
def test_meets_expectation_iff_at_least_90_percent(n: int, data: st.DataObject) -> None:
    matched_count = data.draw(st.integers(min_value=0, max_value=n))
    approvals = [period(f"A{i}") for i in range(n)]
    result = sact_completeness("RRV", JUNE, approvals, {f"A{i}" for i in range(matched_count)})
    assert result.meets_expectation is (10 * matched_count >= 9 * n)
    assert 0 <= result.numerator <= result.denominator == n
