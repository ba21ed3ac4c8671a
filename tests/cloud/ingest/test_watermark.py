"""The watermark walk against a brute-force model: random stored ranges in any overlap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.ingest.watermark import advance


def model(watermark: int, ranges: list[tuple[int, int]], max_gaps: int) -> tuple[int, list[tuple[int, int]]]:
    covered = set(range(1, watermark + 1))
    for first, last in ranges:
        covered |= set(range(first, last + 1))
    w = 0
    while w + 1 in covered:
        w += 1
    top = max(covered, default=0)
    gaps: list[tuple[int, int]] = []
    s = w + 1
    while s <= top and len(gaps) < max_gaps:
        if s not in covered:
            end = s
            while end + 1 not in covered:
                end += 1
            gaps.append((s, end))
            s = end + 1
        else:
            s += 1
    return w, gaps


ranges_st = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 6)).map(lambda t: (t[0], t[0] + t[1])),
                     max_size=25)


@given(ranges_st, st.integers(0, 20), st.integers(1, 5))
def test_advance_matches_the_model(ranges: list[tuple[int, int]], watermark: int, max_gaps: int) -> None:
    above = sorted(r for r in ranges if r[1] > watermark)
    assert advance(watermark, above, max_gaps=max_gaps) == model(watermark, ranges, max_gaps)


def test_examples() -> None:
    assert advance(0, []) == (0, [])
    assert advance(0, [(1, 1), (2, 2), (3, 9)]) == (9, [])
    assert advance(2, [(2, 5), (4, 4), (8, 8)]) == (5, [(6, 7)])
    assert advance(0, [(5, 5), (9, 9)], max_gaps=1) == (0, [(1, 4)])
