"""The schedule service on both databases: a month planned for the world, the run auditable, re-planning on a
frequency change leaves done and started tasks alone."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from cloud.db.engine import Database
from cloud.errors import InvalidInput
from cloud.registry.models import Enterprise
from cloud.schedule import service
from cloud.schedule.models import PatrolTask, PlanRunRow
from cloud.schedule.plan import Frequency
from fwsim.stage.world import World
from tests.cloud.conftest import Clock


def _tasks(database: Database) -> list[PatrolTask]:
    with database.session(write=False) as db:
        return list(db.execute(select(PatrolTask).order_by(PatrolTask.id)).scalars())


def test_a_year_is_planned_by_frequency_and_the_run_is_kept(database: Database, world: World, clock: Clock) -> None:
    assert world.admin is not None
    with database.session(write=True) as db:
        db.merge(service.FrequencyOverride(enterprise_id=world["E2"], frequency="monthly", set_at=clock()))
        run = service.plan_period(db, actor=world.admin, start=date(2026, 1, 1), end=date(2026, 12, 31), seed=7,
                                  sample_rate=0.0, default=Frequency.QUARTERLY, now=clock())
        db.commit()
        run_id = run.id
    tasks = _tasks(database)
    assert Counter(t.enterprise_id for t in tasks) == {world["E1"]: 4, world["E1b"]: 4, world["E2"]: 12}
    # officer1 is the only grid officer of G1; the other grids have none (the task waits for one)
    assert {t.officer_id for t in tasks if t.grid_id == world["G1"]} == {world["officer1"]}
    assert {t.officer_id for t in tasks if t.grid_id != world["G1"]} == {None}
    with database.session(write=False) as db:
        stored = db.get(PlanRunRow, run_id)
        assert stored is not None and (stored.seed, stored.tasks, stored.sampled) == (7, 20, [])


def test_sampling_general_enterprises_stores_the_seed_and_draw(database: Database, world: World,
                                                                clock: Clock) -> None:
    assert world.admin is not None
    with database.session(write=True) as db:
        run = service.plan_period(db, actor=world.admin, start=date(2026, 1, 1), end=date(2026, 1, 31), seed=11,
                                  sample_rate=0.34, default=Frequency.GENERAL, now=clock())
        db.commit()
        sampled = list(run.sampled)
    assert len(sampled) == 1
    assert {t.enterprise_id for t in _tasks(database)} == set(sampled)


def test_a_bad_period_is_refused_naming_the_field(database: Database, world: World, clock: Clock) -> None:
    assert world.admin is not None
    with database.session(write=True) as db, pytest.raises(InvalidInput) as err:
        service.plan_period(db, actor=world.admin, start=date(2026, 2, 1), end=date(2026, 1, 1), seed=1,
                            sample_rate=0.0, default=Frequency.MONTHLY, now=clock())
    assert err.value.field == "end"
    assert _tasks(database) == []


def test_a_frequency_change_replans_only_open_future_tasks(database: Database, world: World, clock: Clock) -> None:
    assert world.admin is not None
    with database.session(write=True) as db:
        service.plan_period(db, actor=world.admin, start=date(2026, 1, 1), end=date(2026, 12, 31), seed=1,
                            sample_rate=0.0, default=Frequency.MONTHLY, now=clock())
        db.commit()
    with database.session(write=True) as db:  # January and February done; one June task done early
        for t in db.execute(select(PatrolTask).where(PatrolTask.enterprise_id == world["E1"])).scalars():
            if t.start.month in (1, 2, 6):
                t.status = service.DONE
        db.commit()
    with database.session(write=True) as db:
        e1 = db.get(Enterprise, world["E1"])
        assert e1 is not None
        cancelled, added = service.set_frequency(db, actor=world.admin, enterprise=e1,
                                                 frequency=Frequency.QUARTERLY, today=date(2026, 3, 10),
                                                 horizon_end=date(2026, 12, 31), now=clock())
        db.commit()
    assert (cancelled, added) == (8, 2)  # Apr-Dec open monthly ones but June; Jul and Oct quarters added
    mine = [t for t in _tasks(database) if t.enterprise_id == world["E1"]]
    assert sorted((t.start.month, t.status) for t in mine if t.status != "cancelled") == [
        (1, "done"), (2, "done"), (3, "open"), (6, "done"), (7, "open"), (10, "open")]
    assert sum(1 for t in _tasks(database) if t.enterprise_id == world["E2"]) == 12  # others untouched


def test_planning_a_period_again_adds_nothing_twice(database: Database, world: World, clock: Clock) -> None:
    assert world.admin is not None
    for seed in (1, 2):
        with database.session(write=True) as db:
            run = service.plan_period(db, actor=world.admin, start=date(2026, 4, 1), end=date(2026, 6, 30),
                                      seed=seed, sample_rate=0.0, default=Frequency.MONTHLY, now=clock())
            db.commit()
            assert run.tasks == (9 if seed == 1 else 0)
    assert len(_tasks(database)) == 9
    with database.session(write=True) as db:  # an overlapping period adds only its new windows
        run = service.plan_period(db, actor=world.admin, start=date(2026, 6, 1), end=date(2026, 7, 31), seed=3,
                                  sample_rate=0.0, default=Frequency.MONTHLY, now=clock())
        db.commit()
        assert run.tasks == 3
