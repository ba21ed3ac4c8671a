"""Unified social credit codes (统一社会信用代码, GB 32100-2015): structure and both check characters.

18 characters from a 31-character set (digits and capitals without I, O, Z, S, V):

====== ===========================================================================
1      registration authority (1 机构编制, 5 民政, 9 工商 / market regulation, Y other, …)
2      organisation category within that authority (e.g. 91 = enterprise, 92 = sole trader)
3–8    administrative division code of the registering authority (6 digits, GB/T 2260)
9–17   organisation code (GB 11714): 8 characters and its own check character (digit or X)
18     check character over characters 1–17
====== ===========================================================================
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
# Weight of position i is 3**i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_value(char: str) -> int:
    # GB 11714 values digits as themselves and letters A..Z as 10..35.
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def org_code_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    remainder = 11 - sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_check(first17: str) -> str:
    """The GB 32100 check character over the first 17 characters."""
    remainder = 31 - sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True)) % 31
    return CHARSET[0 if remainder == 31 else remainder]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or ``None`` if it is."""
    if len(code) != 18:
        return "must be 18 characters"
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return f"characters not allowed: {''.join(bad)} (the set is digits and capitals without I, O, Z, S, V)"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return f"unknown registration authority {code[0]!r}"
    if not code[1].isdigit() or code[1] == "0":
        return f"organisation category {code[1]!r} must be a digit 1-9"
    if not code[2:8].isdigit():
        return "characters 3-8 must be the 6-digit administrative division code"
    if code[16] != org_code_check(code[8:16]):
        return "organisation code (characters 9-17) fails its GB 11714 check"
    if code[17] != uscc_check(code[:17]):
        return "check character (the 18th) is wrong"
    return None


def make_uscc(authority: str, category: str, division: str, org_body: str) -> str:
    """Compose a valid code from its parts (test data, demo fixtures)."""
    first17 = authority + category + division + org_body + org_code_check(org_body)
    return first17 + uscc_check(first17)
