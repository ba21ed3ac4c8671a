"""Grid benchmark: generate the whole city into the database, then plan a month's patrol tasks for it. Prints
figures beside the raw limit measured in the same run; asserts nothing.

Run with ``scripts/bench grid`` (SQLite in a temp dir) or ``scripts/bench grid --postgres local`` (a private,
durable PostgreSQL cluster). ``--enterprises`` etc. shrink the city (the tests run a tiny one).

- city: ``fwsim.stage.city.load`` (SQLAlchemy Core, one executemany per table) into a migrated database, beside
  the DB-API ``executemany`` of the same rows into a second migrated database;
- tasks: ``cloud.schedule.service.plan_period`` for one month (reads enterprises, overrides and officers, plans,
  writes the tasks and the run), beside the DB-API ``executemany`` of the same task rows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cloud.auth.models import User
from cloud.auth.roles import Principal, Role, Scope, ScopeKind
from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.metadata import load_metadata
from cloud.schedule import service
from cloud.schedule.models import FrequencyOverride, PatrolTask
from cloud.schedule.plan import Frequency
from fwsim.stage.city import CITY, NO_PASSWORD, City, CitySize, generate, load, table_rows

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _raw_value(value: Any, sqlite: bool) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if sqlite and isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if sqlite and isinstance(value, date):
        return value.isoformat()
    return value


def raw_insert(database: Database, tables: list[tuple[str, list[dict[str, Any]]]]) -> int:
    """The same rows through the driver's own executemany, one transaction."""
    sqlite = database.engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    conn = database.engine.raw_connection()
    total = 0
    try:
        cur = conn.cursor()
        if sqlite:  # the engine's connections run in autocommit and BEGIN per transaction; do the same here
            cur.execute("BEGIN")
        for name, rows in tables:
            if not rows:
                continue
            cols = list(rows[0])
            sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
            cur.executemany(sql, [tuple(_raw_value(r[c], sqlite) for c in cols) for r in rows])
            total += len(rows)
        conn.commit()
    finally:
        conn.close()
    return total


def migrated(url: str) -> Database:
    database = Database.from_url(url)
    upgrade(database.engine)
    return database


def bench_city(city: City, orm_db: Database, raw_db: Database) -> tuple[int, float, float]:
    """Rows, seconds through ``load``, seconds through the raw executemany."""
    t0 = time.perf_counter()
    with orm_db.engine.begin() as conn:
        rows = load(conn, city, now=NOW, metadata=load_metadata())
    t1 = time.perf_counter()
    raw_insert(raw_db, table_rows(city, NOW))
    t2 = time.perf_counter()
    return rows, t1 - t0, t2 - t1


def bench_tasks(city: City, orm_db: Database, raw_db: Database, *, start: date, end: date,
                seed: int) -> tuple[int, float, float]:
    """Tasks, seconds through ``plan_period`` (frequencies from the city as overrides), seconds raw."""
    admin = Principal(user_id=len(city.officers) + 1, username="bench-admin", role=Role.CITY_ADMIN,
                      scope=Scope(ScopeKind.CITY, None))
    with orm_db.session(write=True) as db:
        db.add(User(id=admin.user_id, username=admin.username, display_name="bench", password_hash=NO_PASSWORD,
                    role=Role.CITY_ADMIN, scope_kind=ScopeKind.CITY, active=True, created_at=NOW, updated_at=NOW))
        db.execute(FrequencyOverride.__table__.insert(), [  # type: ignore[attr-defined]
            {"enterprise_id": e, "frequency": f.value, "set_by": None, "set_at": NOW}
            for e, f in city.frequencies.items()])
        db.commit()
    t0 = time.perf_counter()
    with orm_db.session(write=True) as db:
        run = service.plan_period(db, actor=admin, start=start, end=end, seed=seed, sample_rate=0.05,
                                  default=Frequency.QUARTERLY, now=NOW)
        count = run.tasks
        db.commit()
    t1 = time.perf_counter()
    with orm_db.session(write=False) as db:
        cols = [c.name for c in PatrolTask.__table__.columns if c.name not in ("id", "run_id")]
        rows = [dict(zip(cols, r, strict=True)) | {"run_id": None}
                for r in db.execute(select(*(PatrolTask.__table__.c[c] for c in cols)))]
    t2 = time.perf_counter()
    raw_insert(raw_db, [("patrol_tasks", rows)])
    t3 = time.perf_counter()
    return count, t1 - t0, t3 - t2


@contextlib.contextmanager
def databases(postgres: bool, work: Path) -> Iterator[tuple[Database, Database]]:
    if not postgres:
        a, b = migrated(f"sqlite:///{work / 'city.db'}"), migrated(f"sqlite:///{work / 'raw.db'}")
        try:
            yield a, b
        finally:
            a.dispose()
            b.dispose()
        return
    from fwsim.rig.availability import find_postgres_bindir
    from fwsim.rig.postgres import PostgresCluster

    bindir = find_postgres_bindir()
    if bindir is None:
        raise SystemExit("--postgres local: PostgreSQL server binaries not found (Debian package `postgresql`)")
    cluster = PostgresCluster(bindir, durable=True)
    cluster.start()
    try:
        a, b = migrated(cluster.create_database()), migrated(cluster.create_database())
        try:
            yield a, b
        finally:
            a.dispose()
            b.dispose()
    finally:
        cluster.stop()


def run(size: CitySize, *, seed: int, postgres: bool) -> None:
    t0 = time.perf_counter()
    city = generate(size, seed=seed)
    gen_s = time.perf_counter() - t0
    print(f"city: {len(city.enterprises)} enterprises, {len(city.grids)} grids, {len(city.officers)} officers, "
          f"{len(city.spaces)} confined spaces in {len({s[1] for s in city.spaces})} enterprises; "
          f"generated in {gen_s:.1f} s")
    with tempfile.TemporaryDirectory(prefix="safegrid-bench-grid-") as tmp, \
            databases(postgres, Path(tmp)) as (orm_db, raw_db):
        print(f"database: {orm_db.engine.dialect.name}")
        rows, load_s, raw_s = bench_city(city, orm_db, raw_db)
        print(f"city load:   {rows} rows in {load_s:.2f} s = {rows / load_s:,.0f} rows/s "
              f"(raw executemany {rows / raw_s:,.0f} rows/s, {raw_s:.2f} s)")
        tasks, plan_s, raw_t = bench_tasks(city, orm_db, raw_db, start=date(2026, 12, 1), end=date(2026, 12, 31),
                                           seed=random.Random(seed).randrange(2**31))
        print(f"month plan:  {tasks} tasks in {plan_s:.2f} s = {tasks / plan_s:,.0f} tasks/s "
              f"(raw executemany {tasks / raw_t:,.0f} tasks/s, {raw_t:.2f} s; goal: the month within 30 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--enterprises", type=int, default=CITY.enterprises)
    parser.add_argument("--grids", type=int, default=CITY.grids)
    parser.add_argument("--officers", type=int, default=CITY.officers)
    parser.add_argument("--postgres", choices=["local"], help="a private durable PostgreSQL cluster")
    args = parser.parse_args()
    scale = args.enterprises / CITY.enterprises
    size = CitySize(districts=CITY.districts, streets=min(CITY.streets, args.grids), grids=args.grids,
                    officers=args.officers, enterprises=args.enterprises,
                    space_enterprises=max(1, round(CITY.space_enterprises * scale)),
                    spaces=max(1, round(CITY.spaces * scale)))
    run(size, seed=args.seed, postgres=args.postgres == "local")


if __name__ == "__main__":
    main()
