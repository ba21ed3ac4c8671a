"""The pure planner: frequency → due windows, seeded sampling for "general", officer assignment, re-planning.

Synchronous, no database, dates passed in. The service and the benchmark feed it plain tuples.

A frequency divides the calendar year into equal windows of whole months (monthly 12, quarterly 4, half-yearly 2,
yearly 1); an enterprise has one task per window that overlaps the planned period, due by the window's end.
"general" enterprises (一般风险) are not planned by frequency: each run draws ``sample_rate`` of them with a
seeded RNG, one yearly-window task each; the seed and the drawn ids are returned so the run can be stored and audited.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Frequency(StrEnum):
    MONTHLY = "monthly"  # red 红
    QUARTERLY = "quarterly"  # orange 橙
    HALF_YEARLY = "half_yearly"  # yellow 黄
    YEARLY = "yearly"  # blue 蓝
    GENERAL = "general"  # 一般: random sampling


MONTHS_PER_WINDOW = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.YEARLY: 12}
TASKS_PER_YEAR = {f: 12 // m for f, m in MONTHS_PER_WINDOW.items()}


class PlanError(ValueError):
    """A period or rate the planner cannot use (names the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Window:
    start: date  # inclusive
    due: date  # inclusive: the last day the task is on time


@dataclass(frozen=True, slots=True)
class Task:
    enterprise_id: int
    grid_id: int
    start: date
    due: date
    officer_id: int | None  # None: the grid has no officer (reported, not invented)


@dataclass(frozen=True, slots=True)
class PlanRun:
    tasks: tuple[Task, ...]
    seed: int
    sampled: tuple[int, ...]  # the "general" enterprises drawn this run, sorted


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def windows(frequency: Frequency, start: date, end: date) -> list[Window]:
    """The frequency's windows that overlap ``[start, end]`` (both inclusive), in order."""
    if end < start:
        raise PlanError("end", "the period ends before it starts")
    months = MONTHS_PER_WINDOW[Frequency.YEARLY if frequency is Frequency.GENERAL else frequency]
    out: list[Window] = []
    for year in range(start.year, end.year + 1):
        for first in range(1, 13, months):
            w = Window(date(year, first, 1), _month_end(year, first + months - 1))
            if w.due >= start and w.start <= end:
                out.append(w)
    return out


def sample_general(enterprise_ids: Iterable[int], *, rate: float, seed: int) -> tuple[int, ...]:
    """Draw ``round(rate * n)`` of the ids with a seeded RNG; the same ids, rate and seed draw the same set."""
    if not 0.0 <= rate <= 1.0:
        raise PlanError("sample_rate", "must be between 0 and 1")
    pool = sorted(set(enterprise_ids))  # order-independent: the draw depends on the set only
    return tuple(sorted(random.Random(seed).sample(pool, round(rate * len(pool)))))


def plan(enterprises: Sequence[tuple[int, int, Frequency]], officers_by_grid: Mapping[int, Sequence[int]], *,
         start: date, end: date, sample_rate: float, seed: int) -> PlanRun:
    """Tasks for ``(enterprise_id, grid_id, frequency)`` rows over ``[start, end]``.

    Officers: round-robin within each grid over its officers sorted by id, in enterprise-id order, so a grid's
    enterprises are spread evenly (differ by at most one task per officer and window) and the result is reproducible.
    """
    sampled = sample_general((e for e, _, f in enterprises if f is Frequency.GENERAL), rate=sample_rate, seed=seed)
    chosen = set(sampled)
    cache: dict[Frequency, list[Window]] = {}
    turn: dict[tuple[int, date], int] = {}
    tasks: list[Task] = []
    for enterprise_id, grid_id, frequency in sorted(enterprises):
        if frequency is Frequency.GENERAL and enterprise_id not in chosen:
            continue
        if frequency not in cache:
            cache[frequency] = windows(frequency, start, end)
        officers = sorted(officers_by_grid.get(grid_id, ()))
        for w in cache[frequency]:
            officer = None
            if officers:
                key = (grid_id, w.start)
                n = turn.get(key, 0)
                turn[key] = n + 1
                officer = officers[n % len(officers)]
            tasks.append(Task(enterprise_id, grid_id, w.start, w.due, officer))
    return PlanRun(tuple(tasks), seed, sampled)


@dataclass(frozen=True, slots=True)
class Replan:
    cancel: tuple[Task, ...]  # open future tasks of the enterprise that the new frequency no longer wants
    add: tuple[Task, ...]


def replan(enterprise_id: int, grid_id: int, new_frequency: Frequency, *, existing: Sequence[tuple[Task, bool]],
           officers: Sequence[int], today: date, horizon_end: date) -> Replan:
    """Re-plan one enterprise after its frequency changed.

    ``existing`` is its tasks with a done flag. Done tasks and tasks whose window has started (start <= today) are
    never touched; open future tasks are cancelled and each window of the new frequency that starts after today
    gets a task unless a kept task already falls inside it.
    "general" gets no future tasks here: it is drawn at the next sampling run.
    """
    future = tuple(t for t, done in existing if not done and t.start > today)
    if new_frequency is Frequency.GENERAL or horizon_end <= today:
        return Replan(future, ())
    kept_starts = [t.start for t, _ in existing if t not in future]
    ordered = sorted(officers)
    add: list[Task] = []
    for i, w in enumerate(windows(new_frequency, date.fromordinal(today.toordinal() + 1), horizon_end)):
        if w.start <= today or any(w.start <= s <= w.due for s in kept_starts):
            continue  # the current window is running, or a kept (done) task already falls in this one
        add.append(Task(enterprise_id, grid_id, w.start, w.due, ordered[i % len(ordered)] if ordered else None))
    return Replan(future, tuple(add))
