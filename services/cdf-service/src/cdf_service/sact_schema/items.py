"""What a SACT data item is, and what one version of the data set is: the one description every user of
the schema reads (the header check, the row validator, the synthetic generator, GET /sact/schemas and
the README's tables)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property

from casework.events.catalogue.cdf import StopReason


class ItemType(StrEnum):
    """How a value is written (and checked)."""

    TEXT = "text"
    CODE = "code"  # one national code (checked against the list where the list is known)
    CODES = "codes"  # one or more national codes, comma-separated ("1,3")
    DATE = "date"  # ccyy-mm-dd
    TIMESTAMP = "timestamp"  # ISO 8601 date and time, e.g. 2026-05-11T10:30:00
    INTEGER = "integer"
    DECIMAL = "decimal"
    NHS_NUMBER = "nhs_number"  # ten digits, Modulus 11 check digit
    ODS_CODE = "ods_code"
    ICD10_CODE = "icd10_code"
    SNOMED_CT_ID = "snomed_ct_id"  # Verhoeff check digit (dm+d ids are SNOMED CT ids)


class Role(StrEnum):
    """What this service reads an item for (items without a role are checked and not stored)."""

    NHS_NUMBER = "nhs_number"
    BIRTH_DATE = "birth_date"
    PROVIDER = "provider"
    REGIMEN = "regimen"
    REGIMEN_START = "regimen_start"
    CYCLE_NUMBER = "cycle_number"
    CYCLE_START = "cycle_start"
    DRUG_NAME = "drug_name"
    ADMINISTERED = "administered"  # the date (v3.0) or timestamp (v4.0) of an administration
    DISPENSED = "dispensed"  # v4.0: the date an oral drug was dispensed
    CYCLE_LENGTH = "cycle_length"
    CYCLES_GIVEN = "cycles_given"  # v4.0: the cycles one row covers
    FINAL_TREATMENT = "final_treatment"  # v3.0: date of final treatment


def header_text(name: str) -> str:
    """The CSV header of an item: its national name in upper snake case ("Start Date of Regimen" ->
    START_DATE_OF_REGIMEN). An uploaded header is read through the same function, so "Start date of
    regimen" and "start_date_of_regimen" name the same column."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


@dataclass(frozen=True)
class DataItem:
    number: int  # the national item number
    name: str  # the national item name (the user guide's)
    section: str
    type: ItemType
    format: str  # as the user guide writes it: "an10 ccyy-mm-dd", "max n3"
    specification: str  # the user guide's schema specification: M, M*, R, O; "M in section" / "M in choice"
    max_length: int
    mandatory: bool = False  # every row must carry a value
    codes: Mapping[str, str] | None = None  # national code -> meaning, where the list is known
    role: Role | None = None
    reasons: Mapping[str, StopReason] | None = None  # codes that say why the regimen ended
    limits: tuple[int, int] | None = None  # smallest and largest value of an integer
    note: str = ""

    @cached_property  # read for every column of every file's header check: worked out once
    def header(self) -> str:
        return header_text(self.name)


@dataclass(frozen=True)
class Choice:
    """Items of which a row gives exactly one (or at least one)."""

    name: str
    items: tuple[int, ...]
    exactly_one: bool


@dataclass(frozen=True)
class SactSchema:
    version: int  # 3 or 4
    title: str  # "SACT v4.0"
    collected_from: date
    source: str  # where the item list was confirmed
    items: tuple[DataItem, ...]
    choices: tuple[Choice, ...] = ()
    # v4.0 has no date of final treatment: the row whose End of Regimen Summary is given is the last one
    final_from_reasons: bool = False
    headers: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple(item.header for item in self.items))
        if len(set(self.headers)) != len(self.headers) or len({i.number for i in self.items}) != len(self.items):
            raise ValueError(f"{self.title}: an item number or header appears twice")

    @cached_property
    def by_header(self) -> Mapping[str, DataItem]:
        return {item.header: item for item in self.items}

    @cached_property
    def by_number(self) -> Mapping[int, DataItem]:
        return {item.number: item for item in self.items}

    @cached_property
    def by_role(self) -> Mapping[Role, DataItem]:
        return {item.role: item for item in self.items if item.role is not None}

    @property
    def mandatory_headers(self) -> tuple[str, ...]:
        return tuple(item.header for item in self.items if item.mandatory)

    @property
    def reason_items(self) -> tuple[DataItem, ...]:
        return tuple(item for item in self.items if item.reasons)

    def choice_headers(self, choice: Choice) -> tuple[str, ...]:
        return tuple(self.by_number[n].header for n in choice.items)

    def header_of(self, role: Role) -> str | None:
        item = self.by_role.get(role)
        return item.header if item is not None else None


def codes(*pairs: tuple[str, str]) -> Mapping[str, str]:
    return dict(pairs)


def numbered(meanings: Iterable[str], first: int = 1, width: int = 1) -> Mapping[str, str]:
    """Codes 1, 2, 3 ... (or 01, 02 ... with width 2) for meanings in order."""
    return {str(n).zfill(width): meaning for n, meaning in enumerate(meanings, start=first)}
