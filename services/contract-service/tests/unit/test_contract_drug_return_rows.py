"""Row-by-row validation of monthly drug expenditure returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contract_service.domain.drug_returns import period_bounds, read_csv, submitted_value, validate_return

GOOD = {
    "nhs_number": "999 000 0018",
    "dmd_id": "3762011000001109",
    "indication": "Second-line metastatic disease",
    "administered_on": "2026-05-04",
    "quantity": "2",
    "cost": "1234.50",
    "approval_reference": "cdf-abc123",
}


def test_good_rows_are_kept_and_normalised() -> None:
    result = validate_return("2026-05", [GOOD, {**GOOD, "administered_on": "2026-05-31", "approval_reference": ""}])
    assert result.errors == []
    first, second = result.lines
    assert (first.row, first.nhs_number, first.approval_reference) == (1, "9990000018", "CDF-ABC123")
    assert first.administered_on == date(2026, 5, 4) and first.cost == Decimal("1234.50")
    assert second.approval_reference is None
    assert submitted_value(result.lines) == Decimal("2469.00")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("nhs_number", "9990000019", "Modulus 11"),
        ("nhs_number", "", "is required"),
        ("dmd_id", "3762011000001108", "Verhoeff"),
        ("indication", " ", "is required"),
        ("administered_on", "2026-06-01", "period"),
        ("administered_on", "04/05/2026", "YYYY-MM-DD"),
        ("quantity", "0", "greater than 0"),
        ("cost", "-5", "negative"),
        ("cost", "1.005", "decimal places"),
        ("cost", "abc", "not a number"),
        ("cost", "NaN", "not a number"),
        ("approval_reference", "CDF 1; drop", "approval reference"),
    ],
)
def test_each_bad_field_is_reported_with_row_and_reason(field: str, value: str, reason: str) -> None:
    bad = {**GOOD, "quantity": "3"} | {field: value}  # not a duplicate of row 1 whatever the bad field
    result = validate_return("2026-05", [GOOD, bad])
    assert [line.row for line in result.lines] == [1]
    assert [(e.row, e.field) for e in result.errors] == [(2, field)]
    assert reason in result.errors[0].reason


def test_every_bad_field_of_a_row_is_listed_and_duplicates_are_rejected() -> None:
    result = validate_return("2026-05", [{**GOOD, "cost": "x", "dmd_id": "1"}, GOOD, GOOD])
    assert [(e.row, e.field) for e in result.errors] == [(1, "dmd_id"), (1, "cost"), (3, "row")]
    assert result.errors[-1].reason == "duplicate of row 2"
    assert result.rejected_rows == [1, 3]


def test_csv_reads_aliases_and_names_missing_columns() -> None:
    text = "\ufeffNHS Number,dm+d,Indication,Date,Quantity,Cost\n9990000018,3762011000001109,x,2026-05-01,1,10\n"
    rows = read_csv(text)
    assert rows == [
        {
            "nhs_number": "9990000018",
            "dmd_id": "3762011000001109",
            "indication": "x",
            "administered_on": "2026-05-01",
            "quantity": "1",
            "cost": "10",
        }
    ]
    assert validate_return("2026-05", rows).errors == []
    with pytest.raises(ValueError, match="cost"):
        read_csv("nhs_number,dmd_id,indication,date,quantity\n")


def test_period_bounds() -> None:
    assert period_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_bounds("2027-02") == (date(2027, 2, 1), date(2027, 2, 28))
    with pytest.raises(ValueError):
        period_bounds("2026-13")
