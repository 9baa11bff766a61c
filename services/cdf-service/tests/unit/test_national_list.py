from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdf_service.domain.national_list import (
    DEFAULT_LAPSE_WINDOW_DAYS,
    Criterion,
    EntryStatus,
    InvalidListEntry,
    ListEntry,
    VersionConflict,
    close_entry,
    entry_as_of,
    is_open_on,
    next_version,
)

DMD_ID = "3762811000001103"  # Verhoeff-valid concept id (partition 10)


def make_entry(**overrides: Any) -> ListEntry:
    fields: dict[str, Any] = {
        "entry_id": "CDF-0001",
        "version": 1,
        "drug_name": "Examplimab",
        "dmd_id": DMD_ID,
        "indication": "Advanced non-small cell lung cancer, second line",
        "regimen": "Examplimab 200 mg every 21 days",
        "criteria": (
            Criterion("C1", "Histologically confirmed NSCLC"),
            Criterion("C2", "ECOG performance status 0 or 1"),
            Criterion("C3", "Trust supports outcome reporting", mandatory=False),
        ),
        "cost_per_cycle": Decimal("2500.00"),
        "cycle_length_days": 21,
        "expected_cycles": 8,
        "managed_access_start": date(2026, 1, 1),
        "managed_access_end": date(2027, 12, 31),
        "status": EntryStatus.OPEN,
        "effective_from": date(2026, 1, 1),
    }
    fields.update(overrides)
    return ListEntry(**fields)


def test_defaults_follow_domain() -> None:
    entry = make_entry()
    assert entry.lapse_window_days == DEFAULT_LAPSE_WINDOW_DAYS == 28
    assert entry.effective_to is None
    assert entry.expected_duration_days == 8 * 21


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"dmd_id": "3762811000001104"}, "dmd_id"),
        ({"cost_per_cycle": Decimal("-1")}, "cost_per_cycle"),
        ({"cycle_length_days": 0}, "cycle_length_days"),
        ({"expected_cycles": 0}, "expected_cycles"),
        ({"managed_access_end": date(2025, 12, 31)}, "managed_access_end"),
        ({"effective_to": date(2026, 1, 1)}, "effective_to"),
        ({"criteria": (Criterion("C1", "a"), Criterion("C1", "b"))}, "duplicate criterion codes: C1"),
    ],
)
def test_invalid_entries_name_the_problem(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidListEntry) as err:
        make_entry(**overrides)
    assert any(fragment in p for p in err.value.problems)


def test_open_on_covers_inclusive_managed_access_window() -> None:
    entry = make_entry()
    assert not is_open_on(entry, date(2025, 12, 31))
    assert is_open_on(entry, date(2026, 1, 1))
    assert is_open_on(entry, date(2027, 12, 31))
    assert not is_open_on(entry, date(2028, 1, 1))


def test_closed_status_is_never_open_and_no_end_means_open_ended() -> None:
    assert not is_open_on(make_entry(status=EntryStatus.CLOSED), date(2026, 6, 1))
    assert is_open_on(make_entry(managed_access_end=None), date(2040, 1, 1))


def test_next_version_closes_previous_and_versions_are_contiguous() -> None:
    v1 = make_entry()
    closed_v1, v2 = next_version(v1, {"cost_per_cycle": Decimal("2400.00")}, date(2026, 7, 1))
    assert closed_v1.effective_to == date(2026, 7, 1) == v2.effective_from
    assert v2.version == 2 and v2.effective_to is None
    assert v2.cost_per_cycle == Decimal("2400.00") and closed_v1.cost_per_cycle == Decimal("2500.00")
    history = [closed_v1, v2]
    assert entry_as_of(history, date(2026, 6, 30)) == closed_v1
    assert entry_as_of(history, date(2026, 7, 1)) == v2
    assert entry_as_of(history, date(2025, 12, 31)) is None


def test_close_entry_refuses_new_applications_from_that_day() -> None:
    closed_v1, v2 = close_entry(make_entry(), date(2027, 4, 1))
    history = [closed_v1, v2]
    assert is_open_on(entry_as_of(history, date(2027, 3, 31)), date(2027, 3, 31))  # type: ignore[arg-type]
    assert not is_open_on(entry_as_of(history, date(2027, 4, 1)), date(2027, 4, 1))  # type: ignore[arg-type]


def test_next_version_rejects_superseded_or_backdated_or_identity_changes() -> None:
    closed_v1, v2 = next_version(make_entry(), {}, date(2026, 7, 1))
    with pytest.raises(VersionConflict):
        next_version(closed_v1, {}, date(2026, 8, 1))
    with pytest.raises(VersionConflict):
        next_version(v2, {}, date(2026, 7, 1))
    with pytest.raises(InvalidListEntry, match="entry_id"):
        next_version(v2, {"entry_id": "CDF-9"}, date(2026, 9, 1))
    with pytest.raises(InvalidListEntry, match="colour"):
        next_version(v2, {"colour": "red"}, date(2026, 9, 1))


def test_next_version_validates_the_changed_entry() -> None:
    with pytest.raises(InvalidListEntry, match="cycle_length_days"):
        next_version(make_entry(), {"cycle_length_days": 0}, date(2026, 7, 1))


def test_entry_as_of_refuses_mixed_entries() -> None:
    with pytest.raises(ValueError, match="more than one entry"):
        entry_as_of([make_entry(), make_entry(entry_id="CDF-0002")], date(2026, 2, 1))


@given(
    gaps=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=6),
    probe=st.integers(min_value=-10, max_value=3000),
)
def test_exactly_one_version_in_force_after_the_first_start(gaps: list[int], probe: int) -> None:
    history = []
    current = make_entry()
    for gap in gaps:
        closed, current = next_version(current, {}, current.effective_from + timedelta(days=gap))
        history.append(closed)
    history.append(current)
    day = date(2026, 1, 1) + timedelta(days=probe)
    found = entry_as_of(history, day)
    in_force = [v for v in history if v.effective_from <= day and (v.effective_to or date.max) > day]
    assert len(in_force) == (0 if probe < 0 else 1)
    assert found == (in_force[0] if in_force else None)


def test_a_list_row_with_an_amount_that_is_not_one_says_so() -> None:
    from cdf_service.domain.list_csv import LIST_COLUMNS, parse_list_csv

    header = ",".join(LIST_COLUMNS)
    row = (
        "CDF-X-1,Drugmab,155722341000001108,,An indication,A regimen,C1: A criterion,lots,21,8,"
        "2026-01-01,,open,28,2026-01-01,"
    )
    rows, problems = parse_list_csv(f"{header}\n{row}\n")
    assert not rows
    assert [(p.row, p.field, p.reason) for p in problems] == [(1, "cost_per_cycle", "not an amount in pounds: 'lots'")]
