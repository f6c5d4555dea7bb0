"""Personal identity codes: check character, century sign, calendar date; masking."""

import random
from datetime import date

from desk.pid import birth_date, masked, problem, synthetic


def test_valid_codes_of_every_century_sign():
    assert problem("131052-308T") is None
    assert problem("131052A308T") is None  # same digits, other century: still valid check
    assert problem("010594Y9032") is None
    assert problem("010594Y9021") is None


def test_what_is_wrong_is_named():
    assert problem("131052-308U") == "checksum does not match"
    assert problem("310252-308T") == "not a real calendar date"
    assert problem("131052G308T") == "not a personal identity code (DDMMYYCZZZQ)"
    assert problem("13105-308T") == "not a personal identity code (DDMMYYCZZZQ)"


def test_masking_keeps_the_birth_date_only():
    assert masked("131052-308T") == "131052-****"
    assert birth_date("131052-308T") == date(1952, 10, 13)
    assert birth_date("131052A308T") == date(2052, 10, 13)


def test_synthetic_codes_are_valid_and_from_the_test_range():
    rng = random.Random(1)
    for born in (date(1935, 2, 28), date(1999, 12, 31), date(2006, 6, 1)):
        code = synthetic(rng, born)
        assert problem(code) is None
        assert 900 <= int(code[7:10]) <= 999
        assert birth_date(code) == born
