"""Synthetic people: NHS numbers from the 999 test range, GMC numbers, nhs.net addresses."""

from __future__ import annotations

import random

from casework.identifiers import nhs_number_check_digit

TEST_RANGE_PREFIX = "999"  # NHS numbers starting 999 are reserved for testing


def nhs_number_for(index: int) -> str:
    """A distinct valid NHS number of the 999 test range for each index 0..99,999.

    The index fills digits 4-8; the 9th digit is the first that gives a valid check digit (changing
    it moves the weighted sum by 2 mod 11, so at most one of the ten values is invalid).
    """
    if not 0 <= index < 100_000:
        raise ValueError("index must be 0..99999")
    for last in range(10):
        first_nine = f"{TEST_RANGE_PREFIX}{index:05d}{last}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise AssertionError("unreachable: one of ten final digits always gives a check digit")


def random_nhs_number(rng: random.Random) -> str:
    while True:
        first_nine = f"{TEST_RANGE_PREFIX}{rng.randrange(1_000_000):06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def gmc_number(rng: random.Random) -> str:
    return f"{rng.randrange(2_000_000, 7_999_999):07d}"


def nhs_mail(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@nhs.net"
