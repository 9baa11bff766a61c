from hypothesis import given
from hypothesis import strategies as st

from casework.identifiers import (
    is_valid_icd10_code,
    is_valid_nhs_number,
    is_valid_ods_code,
    is_valid_opcs4_code,
    is_valid_snomed_id,
    nhs_number_check_digit,
    normalise_nhs_number,
    patient_ref,
    verhoeff_check_digit,
)


def test_published_valid_nhs_numbers() -> None:
    # Examples from the NHS number specification / NHS Digital test data.
    for number in ("9434765919", "9434765870", "4010232137", "9990000018"):
        assert is_valid_nhs_number(number), number


def test_invalid_nhs_numbers() -> None:
    assert not is_valid_nhs_number("9434765918")  # wrong check digit
    assert not is_valid_nhs_number("943476591")  # nine digits
    assert not is_valid_nhs_number("94347659190")  # eleven digits
    assert not is_valid_nhs_number("94347659a9")
    # 1000000010: weights give remainder 1 -> check 10 -> no valid number has these nine digits
    assert nhs_number_check_digit("100000001") is None
    assert not any(is_valid_nhs_number(f"100000001{d}") for d in range(10))


def test_check_digit_worked_example() -> None:
    # 9 4 3 4 7 6 5 9 1 x weights 10..2 = 90+36+24+28+42+30+20+27+2 = 299; 299 mod 11 = 2; 11-2 = 9
    assert nhs_number_check_digit("943476591") == 9


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_nine_digits_have_at_most_one_check_digit(first_nine: str) -> None:
    valid = [d for d in range(10) if is_valid_nhs_number(f"{first_nine}{d}")]
    check = nhs_number_check_digit(first_nine)
    assert valid == ([] if check is None else [check])


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9))
def test_single_digit_errors_are_caught(first_nine: str, position: int, delta: int) -> None:
    check = nhs_number_check_digit(first_nine)
    if check is None:
        return
    number = f"{first_nine}{check}"
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not is_valid_nhs_number(changed)


def test_printed_forms_normalise() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("943-476-5919") == "9434765919"


def test_ods_codes() -> None:
    for code in ("RRV", "RRV03", "R1H", "X24", "7A1"):
        assert is_valid_ods_code(code), code
    for code in ("", "RR", "RRV0", "RRV033", "rrv", "RR-V"):
        assert not is_valid_ods_code(code), code


def test_snomed_and_dmd_ids() -> None:
    # Real SNOMED CT concept ids: 22298006 myocardial infarction, 108537001 an ordinary concept id,
    # 39113611000001102 a dm+d (UK extension) product id.
    for sctid in ("22298006", "108537001", "39113611000001102"):
        assert is_valid_snomed_id(sctid), sctid
    assert not is_valid_snomed_id("22298007")  # check digit wrong
    assert not is_valid_snomed_id("022298006")  # leading zero
    assert not is_valid_snomed_id("12345")  # too short


@given(st.text(alphabet="0123456789", min_size=5, max_size=16), st.integers(1, 9))
def test_verhoeff_catches_single_digit_errors(body: str, delta: int) -> None:
    number = body + str(verhoeff_check_digit(body))
    changed = str((int(number[0]) + delta) % 10) + number[1:]
    from casework.identifiers import verhoeff_is_valid

    assert verhoeff_is_valid(number)
    assert not verhoeff_is_valid(changed)


def test_icd10_and_opcs4() -> None:
    assert is_valid_icd10_code("C34.1") and is_valid_icd10_code("C34") and is_valid_icd10_code("C91.00")
    assert not is_valid_icd10_code("C3") and not is_valid_icd10_code("34.1") and not is_valid_icd10_code("U07.1")
    assert is_valid_opcs4_code("X72.1") and is_valid_opcs4_code("X72")
    assert not is_valid_opcs4_code("X7.1")


def test_patient_ref_is_keyed_and_stable() -> None:
    a = patient_ref("943 476 5919", "key-1")
    assert a == patient_ref("9434765919", "key-1")
    assert a != patient_ref("9434765919", "key-2")
    assert "9434765919" not in a and len(a) == 64
