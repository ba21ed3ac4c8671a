"""The pure supervision planner: counts per frequency, reproducible seeded sampling, officer spread, re-planning."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.schedule.plan import TASKS_PER_YEAR, Frequency, PlanError, Task, plan, replan, sample_general, windows

FIXED = [f for f in Frequency if f is not Frequency.GENERAL]

enterprises_st = st.lists(
    st.tuples(st.integers(1, 5000), st.integers(1, 6), st.sampled_from(list(Frequency))),
    max_size=60, unique_by=lambda t: t[0])
officers_st = st.dictionaries(st.integers(1, 6), st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True))


@settings(max_examples=60, deadline=None)
@given(enterprises_st, officers_st, st.integers(2020, 2035), st.floats(0, 1), st.integers(0, 2**32))
def test_a_year_gives_each_enterprise_its_frequency_count(rows, officers, year, rate, seed) -> None:
    run = plan(rows, officers, start=date(year, 1, 1), end=date(year, 12, 31), sample_rate=rate, seed=seed)
    per = Counter(t.enterprise_id for t in run.tasks)
    for enterprise_id, _, frequency in rows:
        if frequency is Frequency.GENERAL:
            assert per[enterprise_id] == (1 if enterprise_id in run.sampled else 0)
        else:
            assert per[enterprise_id] == TASKS_PER_YEAR[frequency]
    general = [e for e, _, f in rows if f is Frequency.GENERAL]
    assert len(run.sampled) == round(rate * len(general))
    for t in run.tasks:
        assert t.start <= t.due
        assert (t.officer_id is None) == (not officers.get(t.grid_id))
        if t.officer_id is not None:
            assert t.officer_id in officers[t.grid_id]


@settings(max_examples=40, deadline=None)
@given(enterprises_st, officers_st, st.integers(0, 2**32))
def test_a_run_is_reproducible_from_its_seed(rows, officers, seed) -> None:
    kw = {"start": date(2026, 1, 1), "end": date(2026, 3, 31), "sample_rate": 0.3, "seed": seed}
    assert plan(rows, officers, **kw) == plan(list(reversed(rows)), officers, **kw)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True))
def test_officers_of_a_grid_share_its_enterprises_evenly(n, officers) -> None:
    rows = [(i, 7, Frequency.MONTHLY) for i in range(n)]
    run = plan(rows, {7: officers}, start=date(2026, 5, 1), end=date(2026, 5, 31), sample_rate=0, seed=1)
    load = Counter(t.officer_id for t in run.tasks)
    assert max(load.values()) - min(load.get(o, 0) for o in officers) <= 1


def test_windows_follow_the_calendar() -> None:
    assert [(w.start, w.due) for w in windows(Frequency.QUARTERLY, date(2026, 2, 10), date(2026, 4, 1))] == [
        (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30))]
    assert windows(Frequency.MONTHLY, date(2028, 2, 1), date(2028, 2, 29))[0].due == date(2028, 2, 29)
    with pytest.raises(PlanError) as err:
        windows(Frequency.MONTHLY, date(2026, 2, 1), date(2026, 1, 1))
    assert err.value.field == "end"


def test_sampling_is_seeded_and_checks_its_rate() -> None:
    ids = range(1000)
    assert sample_general(ids, rate=0.05, seed=42) == sample_general(reversed(ids), rate=0.05, seed=42)
    assert sample_general(ids, rate=0.05, seed=42) != sample_general(ids, rate=0.05, seed=43)
    with pytest.raises(PlanError) as err:
        sample_general(ids, rate=1.5, seed=1)
    assert err.value.field == "sample_rate"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FIXED), st.sampled_from(list(Frequency)), st.integers(0, 364),
       st.lists(st.booleans(), min_size=12, max_size=12))
def test_replanning_never_touches_done_or_started_tasks(old, new, day, done_flags) -> None:
    year = date(2026, 1, 1)
    today = year + timedelta(days=day)
    run = plan([(1, 3, old)], {3: [10, 11]}, start=year, end=date(2026, 12, 31), sample_rate=0, seed=0)
    existing = [(t, done_flags[i]) for i, t in enumerate(run.tasks)]
    result = replan(1, 3, new, existing=existing, officers=[10, 11], today=today, horizon_end=date(2026, 12, 31))
    for t, done in existing:
        if done or t.start <= today:
            assert t not in result.cancel
    assert all(t.start > today for t in result.add)
    if new is not Frequency.GENERAL:
        # every window of the new frequency starting after today has a task, added or already done
        future = {w.start for w in windows(new, today + timedelta(days=1), date(2026, 12, 31)) if w.start > today}
        added = Counter(t.start for t in result.add)
        assert set(added) <= future and all(n == 1 for n in added.values())
        done = [t.start for t, d in existing if d and t not in result.cancel]
        for w in windows(new, today + timedelta(days=1), date(2026, 12, 31)):
            if w.start > today:
                assert (w.start in added) != any(w.start <= s <= w.due for s in done)
    else:
        assert result.add == ()


def test_replan_cancels_future_monthly_tasks_when_relaxed_to_yearly() -> None:
    run = plan([(1, 3, Frequency.MONTHLY)], {3: [10]}, start=date(2026, 1, 1), end=date(2026, 12, 31),
               sample_rate=0, seed=0)
    existing = [(t, t.start < date(2026, 3, 1)) for t in run.tasks]
    result = replan(1, 3, Frequency.YEARLY, existing=existing, officers=[10], today=date(2026, 3, 15),
                    horizon_end=date(2026, 12, 31))
    assert [t.start.month for t in result.cancel] == list(range(4, 13))
    assert result.add == ()  # the yearly window started in January and is covered by the done/started ones
    assert Task(1, 3, date(2026, 3, 1), date(2026, 3, 31), 10) not in result.cancel
