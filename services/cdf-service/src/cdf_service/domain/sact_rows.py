"""What an accepted SACT row contributes, the drugs rows may name, and the duplicate-cycle rule.

Rows are validated one at a time (domain.sact_validator). Duplicate administrations across rows cannot
be seen one row at a time: `RepeatedChecksums` narrows them down while the pieces are written and
`repeated_administrations` applies the rule in full to the few rows it leaves (see
cdf_service.sact.processing).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


class Administration(NamedTuple):
    """What an accepted row contributes (the columns of sact_rows after submission id and row number)."""

    provider_ods: str
    patient_ref: str
    drug_key: str
    listed: bool
    regimen_start: date
    cycle_number: int  # the first cycle the row covers
    cycle_start: date
    administration_date: date  # administered (infusion) or, for an oral drug, dispensed
    final_treatment_date: date | None
    stop_reasons: int | None  # domain.stop_reasons mask; None when the row gives no reason
    cycles: int  # cycles the row covers (v4.0 item 83; 1 otherwise)
    cycle_length_days: int | None  # v4.0 item 82
    dispensed: bool  # an oral drug's dispensing date (v4.0 item 81), not a confirmed administration
    # kept for listed drugs only (a few rows in a hundred): an unapproved use names the patient to the trust
    nhs_number: str | None = None


def duplicate_key(patient_ref: str, drug_key: str, regimen_start: str, cycle_number: int, administration: str) -> int:
    """A 32-bit checksum of what makes two rows the same administration: the patient, drug, regimen start,
    cycle and administration date (ISO text, as the caller has already formatted them). Rows with different
    checksums are never duplicates; rows with equal ones are compared in full (`repeated_administrations`)."""
    return duplicate_key_of_cycle(regimen_checksum(patient_ref, drug_key, regimen_start), cycle_number, administration)


# what the checksum is of: a row's regimen of a drug, then its cycle number and administration date (CRC-32
# runs on, so the checksum of the two texts one after the other is the checksum of the first continued)
REGIMEN_TEXT = "{}|{}|{}"
CYCLE_TEXT = "|{}|{}"


def regimen_checksum(patient_ref: str, drug_key: str, regimen_start: str) -> int:
    """The part of `duplicate_key` every row of one regimen of one drug shares (CRC-32 runs on)."""
    return zlib.crc32(REGIMEN_TEXT.format(patient_ref, drug_key, regimen_start).encode())


def duplicate_key_of_cycle(regimen: int, cycle_number: int, administration: str) -> int:
    return zlib.crc32(CYCLE_TEXT.format(cycle_number, administration).encode(), regimen)


class RepeatedChecksums:
    """The duplicate-cycle rule's first pass over a submission: every administration checksum seen so far,
    and those seen more than once. Only rows with one of those can repeat an earlier row, so the rule
    is then applied in full to them alone, not to a million rows. Set operations keep it at C speed
    (a million checksums: about 60 MB and a tenth of a second)."""

    def __init__(self, seen: Iterable[int] = ()) -> None:
        self.seen: set[int] = set()
        self.repeated: set[int] = set()
        self.add(list(seen))

    def add(self, keys: Sequence[int]) -> None:
        """The checksums of a piece's accepted rows (pieces in any order: a repeat is a repeat)."""
        distinct = set(keys)
        if len(distinct) < len(keys):  # repeated inside this piece
            self.repeated.update(key for key, n in Counter(keys).items() if n > 1)
        self.repeated.update(self.seen.intersection(distinct))
        self.seen.update(distinct)


class AdministrationRow(NamedTuple):
    row_no: int
    patient_ref: str
    drug_key: str
    regimen_start: date
    cycle_number: int
    administration_date: date


def repeated_administrations(rows: Iterable[AdministrationRow]) -> dict[int, int]:
    """The duplicate-cycle rule: a row giving the same patient, drug, regimen, cycle and administration
    date as an earlier row is rejected. Returns {repeating row: the first row it repeats}."""
    first: dict[tuple[str, str, date, int, date], int] = {}
    repeats: dict[int, int] = {}
    for row in sorted(rows):
        administration = (row.patient_ref, row.drug_key, row.regimen_start, row.cycle_number, row.administration_date)
        if (earlier := first.setdefault(administration, row.row_no)) != row.row_no:
            repeats[row.row_no] = earlier
    return repeats


@dataclass(frozen=True)
class Drug:
    key: str  # canonical name, lower case: what approvals and rows are matched on
    listed: bool  # on the national CDF list (any version)


@dataclass(frozen=True)
class DrugDictionary:
    """Known SACT drugs by lower-case name (SACT item 31 Drug Name; the data set carries no drug code)."""

    by_name: Mapping[str, Drug]

    @classmethod
    def build(cls, unlisted: Iterable[str], listed: Iterable[str]) -> DrugDictionary:
        """From the drug names of the SACT reference list and of the CDF list (listed wins)."""
        by_name: dict[str, Drug] = {}
        for names, is_listed in ((unlisted, False), (listed, True)):
            for name in names:
                drug = Drug(name.strip().lower(), is_listed)
                by_name[drug.key] = drug
        return cls(by_name)
