"""The one clock: today is London's date, not the host's or UTC's."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from casework import clock


def test_a_summer_night_after_2300_utc_is_already_tomorrow_in_london() -> None:
    at = datetime(2026, 7, 14, 23, 30, tzinfo=UTC)  # 00:30 BST on the 15th
    assert at.date() == date(2026, 7, 14)
    assert clock.today(at) == date(2026, 7, 15)
    assert clock.now(at).utcoffset() == timedelta(hours=1)


def test_a_winter_night_has_the_same_day_in_utc_and_london() -> None:
    at = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)  # GMT: the same wall clock
    assert clock.today(at) == date(2026, 1, 14)
    assert clock.now(at).utcoffset() == timedelta(0)


def test_the_clocks_going_forward_moves_the_day_at_2300_utc_the_night_after() -> None:
    # 29 March 2026, 01:00 UTC: BST starts; that evening 23:00 UTC is midnight in London
    assert clock.today(datetime(2026, 3, 29, 22, 59, tzinfo=UTC)) == date(2026, 3, 29)
    assert clock.today(datetime(2026, 3, 29, 23, 0, tzinfo=UTC)) == date(2026, 3, 30)


def test_an_instant_in_another_zone_counts_by_its_moment_not_its_wall_clock() -> None:
    new_york = timezone(timedelta(hours=-4))
    assert clock.today(datetime(2026, 7, 14, 20, 0, tzinfo=new_york)) == date(2026, 7, 15)  # 01:00 BST


def test_without_an_instant_it_is_london_now() -> None:
    before = datetime.now(UTC)
    today = clock.today()
    after = datetime.now(UTC)
    assert today in {clock.today(before), clock.today(after)}  # either side of a midnight passing meanwhile
    assert clock.now().tzinfo is clock.LONDON


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        clock.today(datetime(2026, 7, 14, 23, 30))
