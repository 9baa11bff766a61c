"""Validating SACT rows one at a time: a row is accepted whole (one record) or rejected with its reasons.

Pure and fast: the SACT worker calls `validate` a million times for one file, so it looks fields up by
column index, keeps small bounded caches for values that repeat (NHS numbers, dates) and only does
the work each rule needs. Duplicate administrations across rows cannot be seen one row at a time:
`RepeatedChecksums` narrows them down while the pieces are written and `repeated_administrations`
applies the rule in full to the few rows it leaves (see cdf_service.sact.processing).
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from casework.identifiers import is_valid_icd10_code, is_valid_snomed_id, nhs_number_check_digit
from cdf_service.sact_schema import (
    DATE_FIELDS,
    FIELDS,
    GENDER_CODES,
    REQUIRED,
    RegimenOutcome,
)

CACHE_LIMIT = 200_000  # entries per cache; cleared when full so memory stays bounded
MAX_CYCLE = 999
_OUTCOMES = frozenset(o.value for o in RegimenOutcome)


class Problem(NamedTuple):
    field: str
    reason: str


class Administration(NamedTuple):
    """What an accepted row contributes (the columns of sact_rows after submission id and row number)."""

    provider_ods: str
    patient_ref: str
    drug_key: str
    listed: bool
    regimen_start: date
    cycle_number: int
    cycle_start: date
    administration_date: date
    final_treatment_date: date | None
    outcome: str | None


def duplicate_key(patient_ref: str, drug_key: str, regimen_start: str, cycle_number: int, administration: str) -> int:
    """A 32-bit checksum of what makes two rows the same administration: the patient, drug, regimen start,
    cycle and administration date (ISO text, as the caller has already formatted them). Rows with different
    checksums are never duplicates; rows with equal ones are compared in full (`repeated_administrations`)."""
    return zlib.crc32(f"{patient_ref}|{drug_key}|{regimen_start}|{cycle_number}|{administration}".encode())


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
    """Known SACT drugs by lower-case name and by dm+d id."""

    by_name: Mapping[str, Drug]
    by_code: Mapping[str, Drug]

    @classmethod
    def build(cls, unlisted: Mapping[str, Sequence[str]], listed: Mapping[str, Sequence[str]]) -> DrugDictionary:
        """From {drug name: dm+d ids} of the SACT reference list and of the CDF list (listed wins)."""
        by_name: dict[str, Drug] = {}
        by_code: dict[str, Drug] = {}
        for names, is_listed in ((unlisted, False), (listed, True)):
            for name, codes in names.items():
                drug = Drug(name.strip().lower(), is_listed)
                by_name[drug.key] = drug
                by_code.update(dict.fromkeys(codes, drug))
        return cls(by_name, by_code)


class HeaderError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))


def check_header(columns: Sequence[str]) -> list[Problem]:
    """Problems with a file's header: every required item must be there, once; unknown ones are refused."""
    problems = [Problem(name, "column missing from the header") for name in sorted(REQUIRED - set(columns))]
    problems += [Problem(name, "unknown column (not a SACT data item)") for name in columns if name not in FIELDS]
    problems += [Problem(name, "column appears twice") for name in sorted({c for c in columns if columns.count(c) > 1})]
    return problems


class RowValidator:
    """Validates rows of one file (its column order) for one trust."""

    def __init__(
        self,
        columns: Sequence[str],
        trust_ods: str,
        drugs: DrugDictionary,
        patient_ref_key: str | bytes,
        today: date,
    ) -> None:
        if problems := check_header(columns):
            raise HeaderError(problems)
        self.width = len(columns)
        self.index = {name: i for i, name in enumerate(columns)}
        self.trust = trust_ods
        self.drugs = drugs
        self.key = patient_ref_key.encode() if isinstance(patient_ref_key, str) else patient_ref_key
        self.today = today
        self._refs: dict[str, str | None] = {}
        self._dates: dict[str, date | None] = {}
        self._optional = tuple((name, self.index[name]) for name in ("GENDER_CURRENT",) if name in self.index)
        self._code_at = self.index.get("DRUG_DM_D_CODE")
        self._drug_at = self.index["DRUG_NAME"]
        self._diagnosis_at = self.index.get("PRIMARY_DIAGNOSIS")
        self._outcome_at = self.index.get("REGIMEN_OUTCOME_SUMMARY")
        self._icd10: dict[str, bool] = {}
        self._other_dates = tuple(
            (name, self.index[name])
            for name in sorted(DATE_FIELDS - {"DATE_OF_BIRTH", "START_DATE_OF_REGIMEN", "ADMINISTRATION_DATE"})
            if name in self.index
        )
        index = self.index
        self._at = tuple(
            index[name]
            for name in (
                "NHS_NUMBER",
                "ORGANISATION_CODE_OF_PROVIDER",
                "DATE_OF_BIRTH",
                "START_DATE_OF_REGIMEN",
                "ADMINISTRATION_DATE",
                "CYCLE_NUMBER",
                "REGIMEN",
            )
        )
        self._cycle_start_at = index.get("START_DATE_OF_CYCLE")
        self._final_at = index.get("DATE_OF_FINAL_TREATMENT")
        self._date_positions = tuple(i for _, i in self._other_dates)
        self._gender_at = index.get("GENDER_CURRENT")

    # -- cached conversions ---------------------------------------------------------------------

    def patient_ref(self, raw: str) -> str | None:
        """HMAC of a valid NHS number (None if invalid); cached, since a patient has many rows."""
        ref = self._refs.get(raw, "")
        if ref != "":
            return ref
        digits = raw.replace(" ", "").replace("-", "")
        valid = len(digits) == 10 and digits.isdigit() and nhs_number_check_digit(digits[:9]) == int(digits[9])
        ref = hmac.new(self.key, digits.encode(), hashlib.sha256).hexdigest() if valid else None
        if len(self._refs) >= CACHE_LIMIT:
            self._refs.clear()
        self._refs[raw] = ref
        return ref

    def to_date(self, raw: str) -> date | None:
        try:
            return self._dates[raw]
        except KeyError:
            pass
        try:
            value: date | None = date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            value = None
        if len(self._dates) >= CACHE_LIMIT:
            self._dates.clear()
        self._dates[raw] = value
        return value

    # -- the row --------------------------------------------------------------------------------

    def validate(self, cells: Sequence[str]) -> Administration | list[Problem]:
        """The row's record, or every problem with it."""
        return self._accept(cells) or self._check(cells)

    def _accept(self, c: Sequence[str]) -> Administration | None:
        """The common case with the least work: the record of a row every rule accepts, else None so that
        `_check` names the problems. Accepts exactly what `_check` accepts (a unit test holds them together).
        """
        if len(c) != self.width:
            return None
        nhs_at, provider_at, born_at, start_at, given_at, cycle_at, regimen_at = self._at
        patient = self._refs.get(c[nhs_at]) or self.patient_ref(c[nhs_at])
        provider = c[provider_at].strip().upper()
        if patient is None or not provider.startswith(self.trust) or len(provider) not in (3, 5):
            return None
        code = c[self._code_at].strip() if self._code_at is not None else ""
        drug = self.drugs.by_code.get(code) if code else self.drugs.by_name.get(c[self._drug_at].strip().lower())
        raw_cycle = c[cycle_at]
        if drug is None or not _whole(raw_cycle) or int(raw_cycle) > MAX_CYCLE or not c[regimen_at].strip():
            return None
        # the cache first (a date object is truthy); to_date parses, caches, and answers None if invalid
        to_date, known = self.to_date, self._dates.get
        born = known(c[born_at]) or to_date(c[born_at])
        regimen_start = known(c[start_at]) or to_date(c[start_at])
        given = known(c[given_at]) or to_date(c[given_at])
        if born is None or regimen_start is None or given is None:
            return None
        for i in self._date_positions:
            if (raw := c[i]) and not (known(raw) or to_date(raw)):
                return None
        if not self._codes_ok(c):
            return None
        cycle_start = (to_date(c[self._cycle_start_at]) if self._cycle_start_at is not None else None) or given
        final = to_date(c[self._final_at]) if self._final_at is not None and c[self._final_at] else None
        if (
            given > self.today
            or regimen_start < born
            or given < regimen_start
            or cycle_start < regimen_start
            or (final is not None and final < regimen_start)
        ):
            return None
        outcome = (c[self._outcome_at].strip() or None) if self._outcome_at is not None else None
        return Administration(
            provider[:3],
            patient,
            drug.key,
            drug.listed,
            regimen_start,
            int(raw_cycle),
            cycle_start,
            given,
            final,
            outcome,
        )

    def _codes_ok(self, c: Sequence[str]) -> bool:
        if self._diagnosis_at is not None and (raw := c[self._diagnosis_at]):
            valid = self._icd10.get(raw)
            if valid is None:
                valid = self._icd10[raw] = is_valid_icd10_code(raw.strip().upper())
            if not valid:
                return False
        if self._outcome_at is not None and (raw := c[self._outcome_at].strip()) and raw not in _OUTCOMES:
            return False
        return not (self._gender_at is not None and (raw := c[self._gender_at].strip()) and raw not in GENDER_CODES)

    def _check(self, cells: Sequence[str]) -> Administration | list[Problem]:
        if len(cells) != self.width:
            return [Problem("row", f"has {len(cells)} fields, the header has {self.width}")]
        problems: list[Problem] = []
        get = self.index.__getitem__

        patient = self.patient_ref(cells[get("NHS_NUMBER")])
        if patient is None:
            problems.append(Problem("NHS_NUMBER", "not a valid NHS number (Modulus 11)"))
        provider = cells[get("ORGANISATION_CODE_OF_PROVIDER")].strip().upper()
        if not provider.startswith(self.trust) or len(provider) not in (3, 5):
            problems.append(Problem("ORGANISATION_CODE_OF_PROVIDER", f"must be {self.trust} or one of its sites"))
        drug = self._drug(cells, problems)
        born = self._required_date(cells, "DATE_OF_BIRTH", problems)
        regimen_start = self._required_date(cells, "START_DATE_OF_REGIMEN", problems)
        given = self._required_date(cells, "ADMINISTRATION_DATE", problems)
        cycle = self._cycle_number(cells[get("CYCLE_NUMBER")], problems)
        if not cells[get("REGIMEN")].strip():
            problems.append(Problem("REGIMEN", "is required"))
        dates = self._optional_dates(cells, problems)
        self._optional_codes(cells, problems)
        if problems:
            return problems
        assert patient and drug and born and regimen_start and given and cycle is not None  # for the type checker
        cycle_start = dates.get("START_DATE_OF_CYCLE") or given
        final = dates.get("DATE_OF_FINAL_TREATMENT")
        problems = _chronology(born, regimen_start, cycle_start, given, final, self.today)
        if problems:
            return problems
        outcome = (cells[self._outcome_at].strip() or None) if self._outcome_at is not None else None
        return Administration(
            provider[:3], patient, drug.key, drug.listed, regimen_start, cycle, cycle_start, given, final, outcome
        )

    def _drug(self, cells: Sequence[str], problems: list[Problem]) -> Drug | None:
        code = cells[self._code_at].strip() if self._code_at is not None else ""
        if code:
            drug = self.drugs.by_code.get(code)  # known ids are valid: the check digit is only computed if not
            if drug is None:
                problems.append(
                    Problem("DRUG_DM_D_CODE", f"unknown drug: dm+d id {code} is not a known SACT drug")
                    if is_valid_snomed_id(code)
                    else Problem("DRUG_DM_D_CODE", "not a valid dm+d id (Verhoeff check digit)")
                )
            return drug
        name = cells[self._drug_at].strip()
        drug = self.drugs.by_name.get(name.lower())
        if drug is None:
            reason = "is required" if not name else f"unknown drug: {name!r} is not a known SACT drug name"
            problems.append(Problem("DRUG_NAME", reason))
        return drug

    def _required_date(self, cells: Sequence[str], name: str, problems: list[Problem]) -> date | None:
        raw = cells[self.index[name]]
        value = self.to_date(raw) if raw else None
        if value is None:
            problems.append(
                Problem(name, "is required (YYYY-MM-DD)" if not raw else f"not a date (YYYY-MM-DD): {raw!r}")
            )
        return value

    def _optional_dates(self, cells: Sequence[str], problems: list[Problem]) -> dict[str, date]:
        found: dict[str, date] = {}
        for name, i in self._other_dates:
            raw = cells[i]
            if not raw:
                continue
            value = self.to_date(raw)
            if value is None:
                problems.append(Problem(name, f"not a date (YYYY-MM-DD): {raw!r}"))
            else:
                found[name] = value
        return found

    def _cycle_number(self, raw: str, problems: list[Problem]) -> int | None:
        if _whole(raw) and int(raw) <= MAX_CYCLE:
            return int(raw)
        problems.append(Problem("CYCLE_NUMBER", "is required" if not raw else f"must be a whole number 0-{MAX_CYCLE}"))
        return None

    def _optional_codes(self, cells: Sequence[str], problems: list[Problem]) -> None:
        if self._diagnosis_at is not None and (raw := cells[self._diagnosis_at]):
            valid = self._icd10.get(raw)
            if valid is None:
                valid = self._icd10[raw] = is_valid_icd10_code(raw.strip().upper())  # few distinct codes
            if not valid:
                problems.append(Problem("PRIMARY_DIAGNOSIS", f"not an ICD-10 code: {raw!r}"))
        if self._outcome_at is not None and (raw := cells[self._outcome_at].strip()) and raw not in _OUTCOMES:
            problems.append(Problem("REGIMEN_OUTCOME_SUMMARY", f"must be one of {', '.join(sorted(_OUTCOMES))}"))
        for name, i in self._optional:
            raw = cells[i].strip()
            if raw and raw not in GENDER_CODES:
                problems.append(Problem(name, f"must be one of {', '.join(sorted(GENDER_CODES))}"))


def _whole(raw: str) -> bool:
    return raw.isascii() and raw.isdigit()  # not str.isdigit alone: '²' is a digit int() refuses


def _chronology(
    born: date, regimen_start: date, cycle_start: date, given: date, final: date | None, today: date
) -> list[Problem]:
    """Dates that contradict each other (checked once every date parsed)."""
    problems = []
    if given > today:
        problems.append(Problem("ADMINISTRATION_DATE", "is in the future"))
    if regimen_start < born:
        problems.append(Problem("START_DATE_OF_REGIMEN", "is before the date of birth"))
    if given < regimen_start:
        problems.append(Problem("ADMINISTRATION_DATE", "is before the start date of the regimen"))
    if cycle_start < regimen_start:
        problems.append(Problem("START_DATE_OF_CYCLE", "is before the start date of the regimen"))
    if final is not None and final < regimen_start:
        problems.append(
            Problem("DATE_OF_FINAL_TREATMENT", "is before the start date of the regimen (stop before start)")
        )
    return problems
