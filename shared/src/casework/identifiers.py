"""NHS identifiers: NHS number (Modulus 11), ODS codes, SNOMED CT / dm+d ids (Verhoeff), ICD-10, OPCS-4.

Each identifier has a plain predicate (`is_valid_nhs_number`) for domain code and an `Annotated` pydantic
type (`NhsNumber`) for request schemas, so a bad value becomes a 422 naming the field.
`patient_ref` is the keyed HMAC that travels on the bus instead of the NHS number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from operator import mul
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_NHS_WEIGHTS = range(10, 1, -1)
_ASCII_ZEROS = ord("0") * sum(_NHS_WEIGHTS)  # what the weighted sum of nine "0" bytes comes to


def nhs_number_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits; None when the remainder makes the number invalid."""
    if len(first_nine) != 9:
        raise ValueError(f"nine digits needed, got {len(first_nine)}")
    if first_nine.isascii() and first_nine.isdigit():  # in C: SACT intake checks a million a file
        total = sum(map(mul, first_nine.encode(), _NHS_WEIGHTS)) - _ASCII_ZEROS  # each byte is 48 + its digit
    else:
        total = sum(map(mul, map(int, first_nine), _NHS_WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return int(check)


def is_valid_nhs_number(value: str) -> bool:
    if len(value) != 10 or not value.isdigit():
        return False
    return nhs_number_check_digit(value[:9]) == int(value[9])


def normalise_nhs_number(value: str) -> str:
    """Accepts the printed form `943 476 5919` or `943-476-5919`; returns ten digits."""
    return re.sub(r"[\s-]", "", value)


_ODS = re.compile(r"^[A-Z0-9]{3}(?:[A-Z0-9]{2})?$")


def is_valid_ods_code(value: str) -> bool:
    """3 characters for an organisation (trust, e.g. RRV), 5 for a site (e.g. RRV03); upper case."""
    return bool(_ODS.match(value))


# Verhoeff tables (dihedral group D5), as used by SNOMED CT identifiers.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_check_digit(digits: str) -> int:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(d)]]
    return _INV[c]


def verhoeff_is_valid(digits: str) -> bool:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(d)]]
    return c == 0


def is_valid_snomed_id(value: str) -> bool:
    """SNOMED CT / dm+d concept id: 6 to 18 digits, no leading zero, valid Verhoeff check digit.

    The partition identifier (second and third digits from the right) must be a known one
    (00/10 concept, 01/11 description, 02/12 relationship); dm+d products are concepts.
    """
    if not value.isdigit() or not 6 <= len(value) <= 18 or value[0] == "0":
        return False
    if value[-3:-1] not in {"00", "01", "02", "10", "11", "12"}:
        return False
    return verhoeff_is_valid(value)


_ICD10 = re.compile(r"^[A-TV-Z][0-9]{2}(?:\.[0-9A-Z]{1,2})?$")
_OPCS4 = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9])?$")


def is_valid_icd10_code(value: str) -> bool:
    """ICD-10 form like C34 or C34.1 (letter U is reserved for special purposes and not accepted)."""
    return bool(_ICD10.match(value))


def is_valid_opcs4_code(value: str) -> bool:
    return bool(_OPCS4.match(value))


def patient_ref(nhs_number: str, key: str | bytes) -> str:
    """Keyed HMAC-SHA256 of the NHS number: the same patient matches across contexts, the number
    itself never leaves the service that received it."""
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, normalise_nhs_number(nhs_number).encode(), hashlib.sha256).hexdigest()


def _checked(predicate, what: str):  # type: ignore[no-untyped-def]  # pydantic validator factory
    def validate(value: str) -> str:
        if not predicate(value):
            raise ValueError(f"not a valid {what}")
        return value

    return validate


def _strip_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _nhs_input(value: object) -> object:
    return normalise_nhs_number(value) if isinstance(value, str) else value


NhsNumber = Annotated[str, BeforeValidator(_nhs_input), AfterValidator(_checked(is_valid_nhs_number, "NHS number"))]
OdsCode = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_checked(is_valid_ods_code, "ODS code"))]
SnomedId = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    AfterValidator(_checked(is_valid_snomed_id, "SNOMED CT / dm+d id")),
]
Icd10Code = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_checked(is_valid_icd10_code, "ICD-10 code"))]
Opcs4Code = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_checked(is_valid_opcs4_code, "OPCS-4 code"))]
