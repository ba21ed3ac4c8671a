"""Bulk import of grids placed in communities (社区) and areas (片区): dry run, every problem by row and column,
all or nothing, scope (both databases)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.db.engine import Database
from cloud.grid.models import Community, GridArea, GridPlacement
from cloud.registry.models import Grid
from fwsim.stage.world import World
from tests.cloud.conftest import Logins

URL = "/api/v1/grids/import"
HEADER = "street_code,community,area,grid_code,grid_name\n"


def _state(database: Database) -> dict[str, list[tuple[object, ...]]]:
    with database.session(write=False) as db:
        return {
            "grids": sorted((g.code, g.street_id, g.district_id) for g in db.execute(select(Grid)).scalars()),
            "communities": sorted((c.name, c.street_id, c.district_id)
                                  for c in db.execute(select(Community)).scalars()),
            "areas": sorted((a.name, a.community_id) for a in db.execute(select(GridArea)).scalars()),
            "placements": sorted((p.grid_id, p.community_id, p.area_id or 0)
                                 for p in db.execute(select(GridPlacement)).scalars())}



def test_grids_are_created_in_their_community_and_area(client: TestClient, as_user: Logins, world: World,
                                                        database: Database) -> None:
    table = (HEADER + "S1,秀新社区,第一片区,G-101,第一网格\nS1,秀新社区,第一片区,G-102,第二网格\n"
             "S1,秀新社区,,G-103,第三网格\nS1,坑梓社区,第一片区,G-104,第四网格\n")
    before = _state(database)
    dry = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode(),
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"dry_run": True, "created": 0, "ids": [], "valid": 4, "problems": []}
    assert _state(database) == before
    done = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode())
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 4
    after = _state(database)
    new_grids = sorted(set(after["grids"]) - set(before["grids"]))
    assert new_grids == [(f"G-10{i}", world["S1"], world["D1"]) for i in range(1, 5)]
    assert after["communities"] == [("坑梓社区", world["S1"], world["D1"]), ("秀新社区", world["S1"], world["D1"])]
    assert len(after["areas"]) == 2  # 第一片区 of each community: an area belongs to its community
    placements = after["placements"]
    assert len(placements) == 4
    by_grid = {p[0]: p for p in placements}
    g101, g102, g103, g104 = done.json()["ids"]
    assert by_grid[g101][1:] == by_grid[g102][1:] and by_grid[g101][2] != 0
    assert by_grid[g103][1] == by_grid[g101][1] and by_grid[g103][2] == 0
    assert by_grid[g104][1] != by_grid[g101][1]
    # a later table reuses the communities and areas it names
    more = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"},
                       content=(HEADER + "S1,秀新社区,第一片区,G-105,第五网格\n").encode())
    assert more.status_code == 200, more.text
    assert _state(database)["communities"] == after["communities"] and len(_state(database)["areas"]) == 2


def test_every_problem_is_listed_and_nothing_is_created(client: TestClient, as_user: Logins, world: World,
                                                        database: Database) -> None:
    table = (HEADER
             + "S1,秀新社区,,G-201,甲\n"          # 2: fine
             + "S2,某社区,,G-202,乙\n"            # 3: a street of D2
             + "S1,,,G-203,丙\n"                  # 4: no community
             + "S1,秀新社区,,G1,丁\n"             # 5: grid code taken
             + "S1,秀新社区,,G-201,戊\n"          # 6: same code twice
             + "S1,秀新社区,,bad code!,己\n"      # 7: malformed code
             + "S1,秀新社区,,G-207,\n")           # 8: no name
    before = _state(database)
    dry = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode(),
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    problems = [(p["row"], p["field"]) for p in dry.json()["problems"]]
    assert problems == [(3, "street_code"), (4, "community"), (5, "grid_code"), (6, "grid_code"), (7, "grid_code"),
                        (8, "grid_name")]
    real = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table.encode())
    assert real.status_code == 422
    assert [(p["row"], p["field"]) for p in real.json()["rows"]] == problems
    assert _state(database) == before


def test_only_area_managers_import_grids(client: TestClient, as_user: Logins, world: World,
                                         database: Database) -> None:
    table = HEADER + "S1,秀新社区,,G-301,甲\n"
    before = _state(database)
    for user in ("officer1", "mgr1"):
        r = client.post(URL, headers={**as_user(user), "content-type": "text/csv"}, content=table.encode())
        assert r.status_code == 403
    other = client.post(URL, headers={**as_user("sup2"), "content-type": "text/csv"}, content=table.encode())
    assert other.status_code == 422 and other.json()["rows"][0]["field"] == "street_code"
    assert _state(database) == before


def test_the_balance_report_names_each_grids_community_and_area(client: TestClient, as_user: Logins,
                                                                world: World) -> None:
    table = HEADER + "S1,秀新社区,第一片区,G-401,甲\nS1,秀新社区,,G-402,乙\n"
    assert client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"},
                       content=table.encode()).status_code == 200
    body = client.get(f"/api/v1/streets/{world['S1']}/grid-balance", headers=as_user("sup1")).json()
    places = {g["code"]: (g["community"], g["area"]) for g in body["grids"]}
    assert places == {"G1": (None, None), "G1b": (None, None), "G-401": ("秀新社区", "第一片区"),
                      "G-402": ("秀新社区", None)}
    csv_text = client.get(f"/api/v1/streets/{world['S1']}/grid-balance", headers=as_user("sup1"),
                          params={"format": "csv"}).text
    assert "G-401,秀新社区,第一片区,0,0,,True,False,False" in csv_text.splitlines()
    assert "G-402,秀新社区,,0,0,,True,False,False" in csv_text.splitlines()
