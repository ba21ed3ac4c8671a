"""The grid rules, checked and reported rather than enforced: two or three grid officers per grid and a load
per officer (default 180 enterprises). Pure: the caller reads the counts, these functions judge them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_OFFICERS = 2
MAX_OFFICERS = 3
DEFAULT_LOAD = 180


@dataclass(frozen=True)
class GridCount:
    grid_id: int
    code: str
    enterprises: int
    officers: int  # bound with the grid_officer role


@dataclass(frozen=True)
class GridVerdict:
    grid_id: int
    code: str
    enterprises: int
    officers: int
    per_officer: float | None  # None when no officer is bound
    too_few_officers: bool
    too_many_officers: bool
    over_load: bool


@dataclass(frozen=True)
class Balance:
    grids: list[GridVerdict]
    enterprises: int
    officers: int
    per_officer: float | None
    grids_over_load: int
    grids_outside_officer_rule: int


def judge(count: GridCount, *, load: int = DEFAULT_LOAD) -> GridVerdict:
    """A grid with no officer is over load as soon as it has an enterprise: nobody carries it."""
    per = count.enterprises / count.officers if count.officers else None
    over = count.enterprises > 0 if per is None else per > load
    return GridVerdict(grid_id=count.grid_id, code=count.code, enterprises=count.enterprises,
                       officers=count.officers, per_officer=None if per is None else round(per, 2),
                       too_few_officers=count.officers < MIN_OFFICERS,
                       too_many_officers=count.officers > MAX_OFFICERS, over_load=over)


def balance(counts: Iterable[GridCount], *, load: int = DEFAULT_LOAD) -> Balance:
    verdicts = sorted((judge(c, load=load) for c in counts), key=lambda v: v.code)
    enterprises = sum(v.enterprises for v in verdicts)
    officers = sum(v.officers for v in verdicts)
    return Balance(grids=verdicts, enterprises=enterprises, officers=officers,
                   per_officer=round(enterprises / officers, 2) if officers else None,
                   grids_over_load=sum(v.over_load for v in verdicts),
                   grids_outside_officer_rule=sum(v.too_few_officers or v.too_many_officers for v in verdicts))
