"""Bulk import of confined spaces into the ledger: dry run, every problem by row and column, all or nothing,
scope (both databases)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.db.engine import Database
from cloud.registry.models import ConfinedSpace
from fwsim.stage.world import World, uscc
from tests.cloud.conftest import Logins

URL = "/api/v1/space-ledger/import"
HEADER = "uscc,code,name,space_type,location,hazards,gas_profile,rescue_notes\n"


def _spaces(database: Database) -> list[tuple[int, str, str, tuple[str, ...]]]:
    with database.session(write=False) as db:
        return sorted((s.enterprise_id, s.code, s.space_type, tuple(s.hazards))
                      for s in db.execute(select(ConfinedSpace)).scalars())



def test_a_clean_table_is_checked_then_stored(client: TestClient, as_user: Logins, world: World,
                                              database: Database) -> None:
    table = (HEADER + f"{uscc(1)},WS-01,1号污水井,underground,厂区东侧,toxic_gas;oxygen_deficiency,generic-4gas,\n"
             f"{uscc(1)},TK-02,2号储罐,closed_equipment,罐区,flammable_gas；toxic_gas,generic-4gas,先置换再检测\n")
    before = _spaces(database)
    dry = client.post(URL, headers={**as_user("mgr1"), "content-type": "text/csv"}, content=table.encode(),
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"dry_run": True, "created": 0, "ids": [], "valid": 2, "problems": []}
    assert _spaces(database) == before
    done = client.post(URL, headers={**as_user("mgr1"), "content-type": "text/csv"}, content=table.encode())
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 2 and len(done.json()["ids"]) == 2
    added = sorted(set(_spaces(database)) - set(before))
    assert added == [(world["E1"], "TK-02", "closed_equipment", ("flammable_gas", "toxic_gas")),
                     (world["E1"], "WS-01", "underground", ("toxic_gas", "oxygen_deficiency"))]


def test_every_problem_is_listed_and_nothing_is_stored(client: TestClient, as_user: Logins, world: World,
                                                       database: Database) -> None:
    existing = client.get(f"/api/v1/confined-spaces/{world['SP1']}", headers=as_user("sup1")).json()["code"]
    table = (HEADER
             + f"{uscc(1)},A1,甲,underground,东,toxic_gas,generic-4gas,\n"           # 2: fine
             + f"{uscc(3)},A2,乙,underground,东,toxic_gas,generic-4gas,\n"           # 3: E2 is out of scope
             + f"{uscc(1)},A3,丙,spaceship,东,toxic_gas,generic-4gas,\n"             # 4: unknown type
             + f"{uscc(1)},A4,丁,underground,东,,generic-4gas,\n"                    # 5: no hazard
             + f"{uscc(1)},A1,戊,underground,东,toxic_gas,generic-4gas,\n"           # 6: code twice in the table
             + f"{uscc(1)},{existing},己,underground,东,toxic_gas,generic-4gas,\n"   # 7: code already used
             + f"{uscc(1)},A7,庚,underground,东,ghosts,generic-4gas,\n")             # 8: unknown hazard
    before = _spaces(database)
    dry = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode(),
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    problems = [(p["row"], p["field"]) for p in dry.json()["problems"]]
    assert problems == [(3, "uscc"), (4, "space_type"), (5, "hazards"), (6, "code"), (7, "code"), (8, "hazards")]
    real = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode())
    assert real.status_code == 422
    assert [(p["row"], p["field"]) for p in real.json()["rows"]] == problems
    assert _spaces(database) == before


def test_who_may_import(client: TestClient, as_user: Logins, world: World, database: Database) -> None:
    table = HEADER + f"{uscc(1)},B1,甲,underground,东,toxic_gas,generic-4gas,\n"
    before = _spaces(database)
    assert client.post(URL, headers={**as_user("worker1"), "content-type": "text/csv"},
                       content=table.encode()).status_code == 403
    other = client.post(URL, headers={**as_user("mgr2"), "content-type": "text/csv"}, content=table.encode())
    assert other.status_code == 422 and other.json()["rows"][0]["field"] == "uscc"
    cols = client.post(URL, headers={**as_user("mgr1"), "content-type": "text/csv"}, content=b"uscc,code\n1,2\n")
    assert cols.status_code == 422 and cols.json()["error"]["field"] == "name"
    assert _spaces(database) == before
