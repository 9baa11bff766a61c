"""Validating a piece of SACT rows a column at a time (Polars): which rows every rule accepts, and their
records, without splitting and checking a million rows one at a time in Python.

The rules are RowValidator's, not a second copy of them. Each value check (type, length, code list,
limits, mandatory; the NHS number's Modulus 11 and the patient's HMAC; drug names by the DrugDictionary;
ODS, ICD-10 and SNOMED CT ids; dates and timestamps; stop reasons) runs once per *distinct* value of a
column, through the RowValidator's own functions and caches; what comes back to the rows is which values
fail (`is_in`, in native code) and, where the record needs it, the value the check read. What is
vectorised is how those answers combine: every value fine, each choice given as it says (one of 66 and
67; at least one of 10 and 11; one of 80 and 81), a multi-cycle row's cycle length (item 82 when 83 > 1),
and the order of the dates (`sact_row_problems.DATE_ORDER`, compared as ISO text, which orders as the dates
do). A regimen's rows come together and repeat its patient and regimen-level values: those are checked
once per run of rows that repeat them, and the answers spread back over the run.

The pass is sound, not complete: where a value is well formed but not written as the record writes it
(a date "2026-W47-5", a cycle number "07", a drug name in a case Polars lowers differently) the row is
left to `RowValidator.problems`, as is every row with a problem (which it names, each of them). A unit
test holds the two paths to the same rows, records, COPY lines, problems and duplicate keys.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import polars as pl

from cdf_service.domain.sact_row_problems import DATE_ORDER
from cdf_service.domain.sact_validator import RowValidator
from cdf_service.domain.sact_values import parse_date, whole
from cdf_service.sact_schema import DataItem, Role

RECORD = (
    "provider_ods",
    "patient_ref",
    "drug_key",
    "listed",
    "regimen_start",
    "cycle_number",
    "cycle_start",
    "administration_date",
    "final_treatment_date",
    "stop_reasons",
    "cycles",
    "cycle_length_days",
    "dispensed",
    "nhs_number",
)  # sact_rows.Administration's fields, in its order


class Accepted(NamedTuple):
    """What the columnar pass made of a frame: the positions of the rows it accepted; their records (the
    RECORD columns as COPY text, but `listed` and `dispensed`, which are booleans); and the positions of
    the rows it left to the row validator."""

    rows: pl.Series
    records: pl.DataFrame
    declined: list[int]


def column_name(index: int) -> str:
    """The name of a file's column in a piece's frame (by position: headers are the schema's business)."""
    return f"c{index}"


class ColumnValidator:
    """RowValidator's rules over a frame of one file's rows (text columns c0, c1 ... in the file's order)."""

    def __init__(self, rows: RowValidator) -> None:
        self.rows = rows
        self._at = rows.positions
        schema = rows.schema
        self._oral = schema.by_role.get(Role.DISPENSED) is not None  # v4.0: one of items 80 and 81
        self._cycle_start_required = schema.by_role[Role.CYCLE_START].mandatory
        self._cycle_max = (schema.by_role[Role.CYCLE_NUMBER].limits or (0, 999))[1]
        self._today = rows.today.isoformat()
        self._regimen_level = sorted(rows.regimen_level)
        level = set(rows.regimen_level)
        self._regimen_items = [c for c in rows.item_columns if c.index in level]
        self._row_items = [c for c in rows.item_columns if c.index not in level]
        self._row_level = [i for i in range(rows.width) if i not in level]
        self._reasons = [(rows.index[i.header], i) for i in schema.reason_items if i.header in rows.index]

    def accept(self, frame: pl.DataFrame) -> Accepted:
        regimen_level = [pl.col(column_name(i)) for i in self._regimen_level]
        new = frame.select(pl.any_horizontal([c.ne_missing(c.shift(1)) for c in regimen_level])).to_series()
        runs = new.cum_sum().cast(pl.UInt32) - 1  # each row's run of rows repeating its regimen-level values
        heads = frame.filter(new)
        regimens = heads.select(**self._regimens(_Distinct(heads, self._regimen_level)))
        row_level = _Distinct(frame, self._row_level)
        values = frame.with_columns(stop_reasons=self._stop_reasons(row_level)).select(
            "stop_reasons", **self._row_values(row_level)
        )
        values = pl.concat([regimens.select(pl.all().gather(runs)), values], how="horizontal")
        ok = values.select(self._every_rule().fill_null(False)).to_series()
        records = values.filter(ok).select(*RECORD[:-1], nhs_number=pl.when("listed").then("nhs_number"))
        return Accepted(ok.arg_true(), records, (~ok).arg_true().to_list())

    def _regimens(self, col: _Distinct) -> dict[str, pl.Expr]:
        """The patient and regimen-level values of each run's first row, and whether they are fine."""
        at, rows = self._at, self.rows
        patient = col.each(rows.required[Role.NHS_NUMBER], rows.patient_ref, pl.String)  # the HMAC once a patient
        provider = col.mapped(rows.required[Role.PROVIDER], rows.provider, pl.String)
        fine = [
            patient.is_not_null(),
            provider != "",
            col.dates(at[Role.BIRTH_DATE]),
            col.dates(at[Role.REGIMEN_START]),
            *col.items_fine(self._regimen_items),
            *self._choices(col),
        ]
        return {
            "regimen_fine": pl.all_horizontal(fine),
            "provider_ods": provider,
            "patient_ref": patient,
            "regimen_start": col.text(at[Role.REGIMEN_START]),
            "born": col.text(at[Role.BIRTH_DATE]),
            "nhs_number": col.text(at[Role.NHS_NUMBER])
            .str.replace_all(" ", "", literal=True)
            .str.replace_all("-", "", literal=True),  # as sact_row_reading.nhs_digits
        }

    def _row_values(self, col: _Distinct) -> dict[str, pl.Expr]:
        """The cycle-, drug- and outcome-level values of each row, and whether they are fine."""
        at, rows, cycle_max = self._at, self.rows, self._cycle_max
        drug_fine, drug_key, listed = self._drugs(col)
        given_fine, given, dispensed, dated_once = self._administration(col)
        cycle_start = col.text(at.get(Role.CYCLE_START))
        if not self._cycle_start_required:  # v3.0: the administration day when empty
            cycle_start = pl.when(cycle_start == "").then(given).otherwise(cycle_start)
        final = col.text(at.get(Role.FINAL_TREATMENT))
        cycles, length = col.text(at.get(Role.CYCLES_GIVEN)), col.text(at.get(Role.CYCLE_LENGTH))
        if rows.schema.final_from_reasons:  # v4.0: the row giving the End of Regimen Summary is the last
            final = pl.when(pl.col("stop_reasons").is_not_null()).then(given).otherwise(final)
        fine = [
            drug_fine,
            col.fine_where(at[Role.CYCLE_NUMBER], lambda raw: _whole_up_to(raw, cycle_max)),
            given_fine,
            dated_once,
            col.dates(at.get(Role.CYCLE_START), empty_fine=not self._cycle_start_required),
            col.dates(at.get(Role.FINAL_TREATMENT), empty_fine=True),
            col.numbers(at.get(Role.CYCLES_GIVEN)),
            col.numbers(at.get(Role.CYCLE_LENGTH)),
            ~(cycles.is_in([str(n) for n in range(2, 100)]) & (length == "")),  # several cycles need a length
            *col.items_fine(self._row_items),
        ]
        return {
            "row_fine": pl.all_horizontal(fine),
            "drug_key": drug_key,
            "listed": listed,
            "cycle_number": col.text(at[Role.CYCLE_NUMBER]),
            "cycle_start": cycle_start,
            "administration_date": given,
            "final_treatment_date": pl.when(final != "").then(final),
            "cycles": pl.when(cycles == "").then(pl.lit("1")).otherwise(cycles),
            "cycle_length_days": pl.when(length != "").then(length),
            "dispensed": dispensed,
        }

    def _every_rule(self) -> pl.Expr:
        """Every rule holds for the row (over the columns of `_regimens` and `_row_values`)."""
        c = pl.col
        dates = {
            "born": c("born"),
            "regimen_start": c("regimen_start"),
            "cycle_start": c("cycle_start"),
            "given": c("administration_date"),
            "final": c("final_treatment_date"),
        }
        in_order = [~(dates[later] < dates[earlier]).fill_null(False) for later, earlier, _ in DATE_ORDER]
        return pl.all_horizontal(c("regimen_fine"), c("row_fine"), ~(c("administration_date") > self._today), *in_order)

    def _drugs(self, col: _Distinct) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        """Each row's drug name known (item 31), its key (the name stripped and lower case: the dictionary's
        key; Polars' lowering is checked against it per name) and whether it is on the CDF list."""
        index = self.rows.required[Role.DRUG_NAME]
        distinct = col.distinct(index)
        bad, listed = [], []
        for raw, key in zip(distinct, _key(pl.Series(distinct, dtype=pl.String)).to_list(), strict=True):
            drug = self.rows.drug(raw)
            if drug is None or drug.key != key:
                bad.append(raw)
            elif drug.listed:
                listed.append(raw)
        name = col.text(index)
        return _none_of(name, bad), _key(name), name.is_in(listed)

    def _administration(self, col: _Distinct) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
        """Each row's administration date well formed, the day (ISO text), whether it was a dispensing,
        and whether the row gives its date once (v4.0: one of items 80 and 81)."""
        at = self._at
        if not self._oral:  # v3.0: one administration date
            return col.dates(at[Role.ADMINISTERED]), col.text(at[Role.ADMINISTERED]), pl.lit(False), pl.lit(True)
        infusion, oral = col.text(at.get(Role.ADMINISTERED)), col.text(at.get(Role.DISPENSED))
        infusion_fine = col.fine_where(at.get(Role.ADMINISTERED), lambda raw: raw == "" or self._day(raw) == raw[:10])
        oral_fine = col.dates(at.get(Role.DISPENSED), empty_fine=True)
        dispensed = oral != ""
        day = pl.when(dispensed).then(oral).otherwise(infusion.str.slice(0, 10))
        return infusion_fine & oral_fine, day, dispensed, (infusion == "") ^ (oral == "")

    def _day(self, raw: str) -> str | None:
        day = self.rows.to_day(raw)
        return day.isoformat() if day is not None else None

    def _stop_reasons(self, col: _Distinct) -> pl.Expr:
        """The stop reasons each row gives (domain.stop_reasons mask, as text), null for none."""
        rows = self.rows
        mask: pl.Expr = pl.lit(0, pl.Int64)
        for index, item in self._reasons:
            mask = mask | col.mapped(index, functools.partial(_reason_mask, rows, item), pl.Int64)
        return pl.when(mask != 0).then(mask.cast(pl.String))

    def _choices(self, col: _Distinct) -> list[pl.Expr]:
        """Each choice of items given as it says (at least one; exactly one), but 80/81 (`_administration`)."""
        rules = []
        for choice, positions in self.rows.choices:
            filled = pl.sum_horizontal([col.where(i, lambda raw: raw.strip() != "").cast(pl.Int64) for i in positions])
            rules.append(filled >= 1)
            if choice.exactly_one:
                rules.append(filled <= 1)
        return rules


class _Distinct:
    """The distinct values of a frame's columns (found in one pass), and expressions over the frame of
    what the rules ask of them, each rule's function called once per distinct value."""

    def __init__(self, frame: pl.DataFrame, indexes: Sequence[int]) -> None:
        names = [column_name(i) for i in indexes]
        self._frame = frame
        found = frame.select(pl.col(name).unique().implode() for name in names).row(0) if names else ()
        self._distinct: dict[int, list[str]] = dict(zip(indexes, found, strict=True))

    def distinct(self, index: int) -> list[str]:
        return self._distinct[index]

    def each(self, index: int, function: Callable[[str], Any], dtype: Any) -> pl.Expr:
        """`function` of each row's value, called for each row (for a few rows of many distinct values:
        a regimen's first rows)."""
        return pl.lit(pl.Series(map(function, self._frame.get_column(column_name(index)).to_list()), dtype=dtype))

    def text(self, index: int | None) -> pl.Expr:
        """The column's values ("" for a column the file does not have)."""
        return pl.lit("") if index is None else pl.col(column_name(index))

    def mapped(self, index: int, function: Callable[[str], Any], dtype: Any) -> pl.Expr:
        """`function` of each row's value."""
        distinct = self._distinct[index]
        answers = [function(raw) for raw in distinct]
        if len(set(answers)) == 1:  # one answer for every value (the trust's code for its sites)
            return pl.lit(answers[0], dtype)
        return pl.col(column_name(index)).replace_strict(distinct, pl.Series(answers, dtype=dtype), return_dtype=dtype)

    def where(self, index: int | None, test: Callable[[str], bool]) -> pl.Expr:
        """Whether `test` holds for each row's value (for "" where the file has no such column)."""
        if index is None:
            return pl.lit(test(""))
        return self.text(index).is_in([raw for raw in self._distinct[index] if test(raw)])

    def fine_where(self, index: int | None, test: Callable[[str], bool]) -> pl.Expr:
        """The same, for a test most values pass."""
        if index is None:
            return pl.lit(test(""))
        return _none_of(self.text(index), [raw for raw in self._distinct[index] if not test(raw)])

    def dates(self, index: int | None, empty_fine: bool = False) -> pl.Expr:
        """Each row's date well formed and written as ISO 8601 (which the record then takes as it is);
        empty is fine when `empty_fine` (and for a column the file does not have)."""

        def iso(raw: str) -> bool:
            day = parse_date(raw)
            return day is not None and day.isoformat() == raw

        return self.fine_where(index, lambda raw: (empty_fine and raw == "") or iso(raw))

    def numbers(self, index: int | None) -> pl.Expr:
        """An integer item's values written as the record writes them: empty, or without leading zeros
        (its limits are its item's check)."""
        return self.fine_where(index, lambda raw: raw == "" or (whole(raw) and str(int(raw)) == raw))

    def items_fine(self, columns: Sequence[Any]) -> list[pl.Expr]:
        """Every value of these items fine by its item (each distinct value checked once, and remembered as
        the row validator remembers it)."""
        rules = []
        for column in columns:
            fine = column.fine
            bad = [raw for raw in self._distinct[column.index] if raw not in fine and not column.learn(raw)]
            if bad:
                rules.append(~self.text(column.index).is_in(bad))
        return rules


def _key(names: Any) -> Any:
    """Drug names as the dictionary keys them (checked against the DrugDictionary per distinct name)."""
    return names.str.strip_chars().str.to_lowercase()


def _none_of(values: pl.Expr, bad: list[str]) -> pl.Expr:
    return ~values.is_in(bad) if bad else pl.lit(True)


def _whole_up_to(raw: str, largest: int) -> bool:
    """A cycle number (item 26) as the record writes it: whole, at most `largest`, no leading zeros."""
    return whole(raw) and int(raw) <= largest and str(int(raw)) == raw


def _reason_mask(rows: RowValidator, item: DataItem, raw: str) -> int:
    """One stop-reason item's mask for a raw value (a partial of it per item: a lambda's default argument
    hid the item's type)."""
    return rows.reason_mask(item, raw)
