"""GB 32100 unified social credit codes: known-valid codes, computed codes, and corruption always caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.registry.uscc import CHARSET, WEIGHTS, make_uscc, org_code_check, uscc_check, uscc_problem

# Codes as printed on business licences (public registry data), valid by both check characters.
PUBLISHED = ["914403001922038216", "91330100799655058B", "91110000802100433B"]


def test_weights_and_charset() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(CHARSET) == 31 and not set("IOZSV") & set(CHARSET)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc_problem(code) is None


def test_org_code_check_by_hand() -> None:
    # 19220382: 1*3 + 9*7 + 2*9 + 2*10 + 0*5 + 3*8 + 8*4 + 2*2 = 164; 164 mod 11 = 10; 11 - 10 = 1
    assert org_code_check("19220382") == "1"
    # Letters count A=10 … Z=35; results 10 and 11 are written X and 0.
    assert org_code_check("MA5G0000") in set("0123456789X")
    assert {org_code_check(f"{n:08d}") for n in range(200)} >= {"X", "0"}


def test_uscc_check_by_hand() -> None:
    # Σ value × weight over 91440300192203821 = 831; 831 mod 31 = 25; 31 - 25 = 6
    assert uscc_check("91440300192203821") == "6"


def test_composed_codes_are_valid() -> None:
    for authority, category in (("9", "1"), ("9", "2"), ("1", "2"), ("5", "1"), ("Y", "1")):
        code = make_uscc(authority, category, "440310", "MA5F0K3B")
        assert len(code) == 18 and uscc_problem(code) is None, code


@pytest.mark.parametrize(("code", "reason"), [
    ("91440300192203821", "18 characters"),
    ("9144030019220382I6", "not allowed"),
    ("Z14403001922038216", "not allowed"),
    ("B14403001922038216", "registration authority"),
    ("90440300192203821" + "6", "category"),
    ("9144A300192203821" + "6", "division"),
    ("914403001922038226", "GB 11714"),
    ("914403001922038217", "18th"),
])
def test_corrupted_codes_say_why(code: str, reason: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and reason in problem


valid_codes = st.builds(
    make_uscc, st.sampled_from("159Y"), st.sampled_from("123"), st.from_regex(r"\A[0-9]{6}\Z"),
    st.text(alphabet=CHARSET, min_size=8, max_size=8))


@given(valid_codes, st.integers(0, 17), st.sampled_from(CHARSET))
def test_any_single_substitution_is_caught(code: str, position: int, char: str) -> None:
    assert uscc_problem(code) is None
    corrupted = code[:position] + char + code[position + 1:]
    if corrupted != code:
        assert uscc_problem(corrupted) is not None


@given(valid_codes, st.integers(0, 16))
def test_any_adjacent_transposition_is_caught(code: str, position: int) -> None:
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    if swapped != code:
        assert uscc_problem(swapped) is not None


@given(st.text(max_size=40))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert uscc_problem(text) is None or isinstance(uscc_problem(text), str)
