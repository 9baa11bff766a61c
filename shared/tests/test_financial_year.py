"""The NHS financial year calendar."""

import re
from datetime import date

import pytest

from casework.financial_year import (
    MONTH_PATTERN,
    financial_year_of,
    fy_end,
    fy_start,
    fy_start_year,
    month_start,
    month_starts,
)


@pytest.mark.parametrize(
    ("day", "fy", "month"),
    [
        (date(2026, 4, 1), "2026/27", 1),
        (date(2026, 12, 31), "2026/27", 9),
        (date(2027, 1, 1), "2026/27", 10),
        (date(2027, 3, 31), "2026/27", 12),
        (date(1999, 4, 30), "1999/00", 1),
    ],
)
def test_financial_year_of(day: date, fy: str, month: int) -> None:
    found = financial_year_of(day)
    assert (found.financial_year, found.month, found.label) == (fy, month, f"M{month}")


def test_month_starts_and_year_end() -> None:
    starts = month_starts("2026/27")
    assert starts[0] == date(2026, 4, 1) and starts[8] == date(2026, 12, 1)
    assert starts[9] == date(2027, 1, 1) and starts[11] == date(2027, 3, 1)
    assert len(set(starts)) == 12
    assert fy_end("2026/27") == date(2027, 3, 31)


@pytest.mark.parametrize("label", ["2026/28", "2026-27", "26/27", "2026/7", "abcd/ef"])
def test_bad_financial_year_labels(label: str) -> None:
    with pytest.raises(ValueError):
        fy_start_year(label)


def test_year_bounds_and_month_start() -> None:
    assert fy_start("2026/27") == date(2026, 4, 1)
    assert month_start(date(2026, 11, 23)) == date(2026, 11, 1)
    for day in (date(2026, 4, 1), date(2026, 11, 23), date(2027, 3, 31)):
        fy = financial_year_of(day).financial_year
        assert fy_start(fy) <= day <= fy_end(fy)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-05", True),
        ("1999-12", True),
        ("0000-01", False),
        ("9999-12", False),
        ("2026-13", False),
        ("2026-5", False),
    ],
)
def test_reporting_month_pattern_keeps_to_months_that_become_dates(text: str, ok: bool) -> None:
    assert bool(re.match(MONTH_PATTERN, text)) is ok
