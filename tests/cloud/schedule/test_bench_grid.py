"""scripts/bench_grid.py's functions on a tiny city: the city loads through both paths with the same row count,
and the month plan writes as many tasks as it reports (figures are printed by the script, never asserted)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

from sqlalchemy import func, select

from cloud.registry.models import Enterprise
from cloud.schedule.models import PatrolTask, PlanRunRow
from fwsim.stage.city import CitySize, generate

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "bench_grid.py"
TINY = CitySize(districts=1, streets=2, grids=4, officers=9, enterprises=200, space_enterprises=5, spaces=20)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_grid", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_grid", module)
    spec.loader.exec_module(module)
    return module


def test_the_bench_loads_a_city_and_plans_its_month(tmp_path: Path) -> None:
    bench = _bench()
    city = generate(TINY, seed=5)
    with bench.databases(False, tmp_path) as (orm_db, raw_db):
        rows, _, _ = bench.bench_city(city, orm_db, raw_db)
        assert rows == 1 + 2 + 4 + 200 + 9 + 20
        for database in (orm_db, raw_db):
            with database.session(write=False) as db:
                assert db.execute(select(func.count()).select_from(Enterprise)).scalar_one() == 200
        tasks, _, _ = bench.bench_tasks(city, orm_db, raw_db, start=date(2026, 12, 1), end=date(2026, 12, 31),
                                        seed=3)
        with orm_db.session(write=False) as db:
            assert db.execute(select(func.count()).select_from(PatrolTask)).scalar_one() == tasks > 0
            assert db.execute(select(PlanRunRow.seed)).scalar_one() == 3
        with raw_db.session(write=False) as db:
            assert db.execute(select(func.count()).select_from(PatrolTask)).scalar_one() == tasks
