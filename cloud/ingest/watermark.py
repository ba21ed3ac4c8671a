"""The watermark of a stream, computed from the seq ranges stored above the old one (pure, no I/O).

A seq is accounted for when a record with that seq is stored or a stored summary's range covers it; the
watermark is the highest *w* with every seq 1…*w* accounted for. The ranges come sorted by their first seq,
in any overlap (a summary over records already stored, a late record inside a summary).
"""

from __future__ import annotations

from collections.abc import Iterable

from protocols.uplink.envelope import MAX_GAPS


def advance(watermark: int, ranges: Iterable[tuple[int, int]], *,
            max_gaps: int = MAX_GAPS) -> tuple[int, list[tuple[int, int]]]:
    """The new watermark and the lowest ``max_gaps`` gaps above it, from ``(first, last)`` ranges sorted by
    ``first`` that end above ``watermark``."""
    reach = watermark  # the highest seq accounted for so far, gaps or not
    new_watermark = watermark
    gaps: list[tuple[int, int]] = []
    for first, last in ranges:
        if first > reach + 1:
            if len(gaps) == max_gaps:
                break
            gaps.append((reach + 1, first - 1))
        reach = max(reach, last)
        if not gaps:
            new_watermark = reach
    return new_watermark, gaps
