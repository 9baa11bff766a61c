from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from casework.working_days import add_working_days, is_working_day, working_days_between


def test_christmas_and_new_year_2026() -> None:
    # 25 Dec 2026 is a Friday, 26 Dec a Saturday: Boxing Day is substituted on Monday 28 Dec.
    assert not is_working_day(date(2026, 12, 25))
    assert not is_working_day(date(2026, 12, 28))
    assert not is_working_day(date(2027, 1, 1))
    # Wed 23 Dec + 3 working days: Thu 24, Tue 29, Wed 30.
    assert add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    # Thu 24 Dec + 5: Tue 29, Wed 30, Thu 31, Mon 4 Jan, Tue 5 Jan.
    assert add_working_days(date(2026, 12, 24), 5) == date(2027, 1, 5)


def test_easter_2027() -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March 2027.
    assert not is_working_day(date(2027, 3, 26))
    assert not is_working_day(date(2027, 3, 29))
    assert add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert working_days_between(date(2027, 3, 24), date(2027, 4, 1)) == 4  # 25, 30, 31 Mar, 1 Apr


def test_weekend_start_rolls_to_monday() -> None:
    saturday = date(2026, 11, 21)
    assert add_working_days(saturday, 0) == date(2026, 11, 23)
    assert add_working_days(saturday, 2) == date(2026, 11, 25)


def test_twenty_working_days_is_four_weeks_without_holidays() -> None:
    assert add_working_days(date(2026, 6, 1), 20) == date(2026, 6, 29)


@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.integers(0, 60))
def test_add_and_count_are_inverse(start: date, days: int) -> None:
    while not is_working_day(start):
        start += timedelta(days=1)
    end = add_working_days(start, days)
    assert working_days_between(start, end) == days
    assert is_working_day(end)
