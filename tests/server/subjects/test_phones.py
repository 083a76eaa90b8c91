"""Phone numbers as people write them on forms and census lists, stored as E.164."""

from __future__ import annotations

import pytest

from server.subjects import phones


@pytest.mark.parametrize(("written", "stored"), [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("+86-13812345678", "+8613812345678"),
    ("0086 138 1234 5678", "+8613812345678"),
    ("19912345678", "+8619912345678"),
    ("010-1234 5678", "+861012345678"),        # Beijing landline
    ("（0755）8888 8888", "+8675588888888"),     # Shenzhen, full-width brackets from a pasted list
    ("+1 650 253 0000", "+16502530000"),       # abroad, said with +
    ("+852 9123 4567", "+85291234567"),
])
def test_numbers_as_people_write_them_are_stored_as_e164(written: str, stored: str) -> None:
    assert phones.normalise(written) == stored


@pytest.mark.parametrize("written", [
    "12345", "1391111", "12345678901",  # too short, a mobile cut off, no such mobile range (12…)
    "6502530000",                       # a US number without + reads as a broken mainland number
    "12ab34", "138 1234 567#", "+", "", "+86 138 1234",
])
def test_what_is_not_a_phone_number_is_refused(written: str) -> None:
    with pytest.raises(phones.NotAPhoneNumber):
        phones.normalise(written)


@pytest.mark.parametrize(("stored", "shown"), [
    ("+8613812345678", "138 1234 5678"),
    ("+861012345678", "010 1234 5678"),
    ("+16502530000", "+1 650-253-0000"),
    ("13800000001", "13800000001"),  # a row stored before numbers were normalised
])
def test_stored_numbers_are_shown_the_way_their_readers_write_them(stored: str, shown: str) -> None:
    assert phones.display(stored) == shown


def test_the_mobile_shortcut_agrees_with_the_library() -> None:
    import random

    import phonenumbers

    rng = random.Random(7)
    for _ in range(500):
        digits = f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}"
        for written in (digits, f"+86{digits}", f"{digits[:3]} {digits[3:7]} {digits[7:]}"):
            number = phonenumbers.parse(written.replace(" ", ""), "CN")
            assert phones.normalise(written) == f"+86{number.national_number}" == f"+86{digits}"
