"""Which stored telemetry runs to fold into summary records when the outbox reaches its cap (pure).

Only telemetry is ever folded; alarms, events, sessions and audit records are never touched. A summary
stands for the exact seq range it replaces, so the cloud's contiguous watermark keeps moving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FOLDABLE = "telemetry"


@dataclass(frozen=True, slots=True)
class Slot:
    """One stored record as compaction sees it."""

    seq: int
    seq_to: int
    kind: str


def plan_runs(rows: Sequence[Slot], *, span: int) -> list[tuple[int, int]]:
    """Index ranges ``(first, last)`` (inclusive) of ``rows`` to fold, each at most ``span`` rows long.

    ``rows`` are stored records in seq order. A run is consecutive telemetry rows whose seq ranges are
    contiguous (nothing between them was acknowledged-and-deleted or is of another kind); runs of one row
    are left alone since folding them saves nothing.
    """
    if span < 2:
        raise ValueError("span must be at least 2")
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, row in enumerate(rows):
        joins = (
            start is not None
            and row.kind == FOLDABLE
            and rows[i - 1].seq_to + 1 == row.seq
            and i - start < span
        )
        if joins:
            continue
        if start is not None and i - 1 > start:
            runs.append((start, i - 1))
        start = i if row.kind == FOLDABLE else None
    if start is not None and len(rows) - 1 > start:
        runs.append((start, len(rows) - 1))
    return runs
