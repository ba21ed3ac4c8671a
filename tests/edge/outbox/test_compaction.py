"""Compaction planning folds only contiguous telemetry runs, never anything else (property tests)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.outbox.compaction import Slot, plan_runs

KINDS = ["telemetry", "telemetry", "telemetry", "alarm", "event", "summary"]


@st.composite
def stored_rows(draw: st.DrawFn) -> list[Slot]:
    rows, seq = [], 1
    for _ in range(draw(st.integers(0, 60))):
        seq += draw(st.sampled_from([0, 0, 0, 1, 5]))  # acknowledged gaps now and then
        width = draw(st.sampled_from([0, 0, 0, 3]))  # some rows are already summaries
        kind = "summary" if width else draw(st.sampled_from(KINDS))
        rows.append(Slot(seq, seq + width, kind))
        seq += width + 1
    return rows


@given(stored_rows(), st.integers(2, 10))
def test_runs_are_contiguous_telemetry_within_span(rows: list[Slot], span: int) -> None:
    runs = plan_runs(rows, span=span)
    covered: set[int] = set()
    for first, last in runs:
        assert 1 <= last - first < span
        run = rows[first:last + 1]
        assert all(r.kind == "telemetry" for r in run)
        assert all(a.seq_to + 1 == b.seq for a, b in itertools.pairwise(run))
        assert covered.isdisjoint(range(first, last + 1))
        covered.update(range(first, last + 1))
    assert [f for f, _ in runs] == sorted(f for f, _ in runs)


@given(stored_rows())
def test_a_long_enough_telemetry_pair_is_always_found(rows: list[Slot]) -> None:
    runs = plan_runs(rows, span=1000)
    for i in range(len(rows) - 1):
        a, b = rows[i], rows[i + 1]
        if a.kind == b.kind == "telemetry" and a.seq_to + 1 == b.seq:
            assert any(f <= i and i + 1 <= last for f, last in runs)


def test_examples_and_bad_span() -> None:
    t = [Slot(s, s, "telemetry") for s in range(1, 6)]
    assert plan_runs(t, span=2) == [(0, 1), (2, 3)]
    mixed = [*t[:2], Slot(3, 3, "alarm"), *[Slot(s, s, "telemetry") for s in range(4, 7)]]
    assert plan_runs(mixed, span=10) == [(0, 1), (3, 5)]
    with pytest.raises(ValueError):
        plan_runs(t, span=1)
