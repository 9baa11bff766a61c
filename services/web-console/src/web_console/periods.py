"""Counting back over months or quarters, for report pages that show the last few periods."""

from __future__ import annotations


def counted_back(year: int, index: int, per_year: int, count: int) -> list[tuple[int, int]]:
    """`count` (year, period) pairs from (year, index) back, newest first (index 1..per_year)."""
    out = []
    for _ in range(count):
        out.append((year, index))
        year, index = (year, index - 1) if index > 1 else (year - 1, per_year)
    return out
