"""Working days in England: Monday to Friday, excluding England and Wales bank holidays.

Every IFR clock and every SACT lapse window is counted on this calendar, so it lives once here.
Bank holidays come from the `holidays` package (subdivision ENG), which knows substitute days
(a bank holiday falling on a weekend moves to the next weekday).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself is day 0, whatever it is).

    `add_working_days(d, 0)` is `d` when `d` is a working day, otherwise the next working day:
    a "same day" deadline on a Saturday falls due on Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    while not is_working_day(current):
        current += timedelta(days=1)
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start).

    The inverse of `add_working_days` for a working-day start:
    `working_days_between(d, add_working_days(d, n)) == n`.
    """
    if end <= start:
        return 0
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
