"""The grid rules (2–3 officers per grid, a load per officer) judged on hand-picked and generated counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.grid.rules import DEFAULT_LOAD, GridCount, balance, judge


def test_the_default_load_is_180_enterprises_per_officer() -> None:
    assert DEFAULT_LOAD == 180
    assert not judge(GridCount(1, "G", enterprises=360, officers=2)).over_load
    assert judge(GridCount(1, "G", enterprises=361, officers=2)).over_load


def test_officer_rule_is_two_to_three() -> None:
    few, ok2, ok3, many = (judge(GridCount(1, "G", enterprises=10, officers=n)) for n in (1, 2, 3, 4))
    assert few.too_few_officers and not few.too_many_officers
    assert not (ok2.too_few_officers or ok2.too_many_officers)
    assert not (ok3.too_few_officers or ok3.too_many_officers)
    assert many.too_many_officers and not many.too_few_officers


def test_a_grid_with_enterprises_and_no_officer_is_over_load() -> None:
    verdict = judge(GridCount(1, "G", enterprises=1, officers=0))
    assert verdict.over_load and verdict.per_officer is None
    assert not judge(GridCount(1, "G", enterprises=0, officers=0)).over_load


counts = st.lists(st.builds(GridCount, grid_id=st.integers(1, 10**6), code=st.text(min_size=1, max_size=8),
                            enterprises=st.integers(0, 2000), officers=st.integers(0, 6)), max_size=30)


@given(counts, st.integers(1, 500))
def test_balance_totals_and_verdicts_follow_the_counts(grids: list[GridCount], load: int) -> None:
    report = balance(grids, load=load)
    assert report.enterprises == sum(g.enterprises for g in grids)
    assert report.officers == sum(g.officers for g in grids)
    assert len(report.grids) == len(grids)
    by_id = {(g.grid_id, g.code, g.enterprises, g.officers) for g in grids}
    for v in report.grids:
        assert (v.grid_id, v.code, v.enterprises, v.officers) in by_id
        assert v.over_load == (v.enterprises > load * v.officers if v.officers else v.enterprises > 0)
        assert v.too_few_officers == (v.officers < 2) and v.too_many_officers == (v.officers > 3)
    assert report.grids_over_load == sum(v.over_load for v in report.grids)
    if report.officers:
        assert report.per_officer is not None
        assert abs(report.per_officer - report.enterprises / report.officers) <= 0.005 + 1e-9  # rounded to 2 places
    else:
        assert report.per_officer is None
