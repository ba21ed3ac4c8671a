"""Bulk binding of officers and enterprises to grids from CSV / .xlsx: dry run, every problem by row and column,
all rows or none — on both databases."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from cloud.db.engine import Database
from cloud.grid.models import OfficerBinding
from cloud.registry.models import Enterprise
from cloud.registry.uploads import XLSX_TYPE
from fwsim.stage.world import World, uscc
from tests.cloud.conftest import Logins

URL = "/api/v1/grid-bindings/import"
HEADER = "grid_code,username,role,uscc\n"


def _state(database: Database) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, int, int]]]:
    with database.session(write=False) as db:
        bindings = sorted((b.grid_id, b.user_id, b.role.value) for b in db.execute(select(OfficerBinding)).scalars())
        firms = sorted((e.id, e.grid_id, e.street_id, e.district_id) for e in db.execute(select(Enterprise)).scalars())
    return bindings, firms


def _post(client: TestClient, as_user: Logins, body: bytes, *, dry_run: bool = False, user: str = "sup1",
          content_type: str = "text/csv") -> object:
    return client.post(URL, headers={**as_user(user), "content-type": content_type}, content=body,
                       params={"dry_run": str(dry_run).lower()})


def test_a_clean_table_binds_officers_and_moves_enterprises(client: TestClient, as_user: Logins, world: World,
                                                            database: Database) -> None:
    table = (HEADER + "G1,officer1,grid_officer,\nG1,law1,other_force,\nG1b,law1,area_lead,\n"
             f"G1,,,{uscc(2)}\n").encode()
    before = _state(database)
    dry = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table,
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"dry_run": True, "officers": 3, "enterprises": 1, "problems": []}
    assert _state(database) == before  # a dry run writes nothing, even when clean
    done = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table)
    assert done.status_code == 200, done.text
    assert done.json()["dry_run"] is False and done.json()["officers"] == 3
    bindings, firms = _state(database)
    assert bindings == sorted([(world["G1"], world["officer1"], "grid_officer"),
                               (world["G1"], world["law1"], "other_force"),
                               (world["G1b"], world["law1"], "area_lead")])
    moved = next(f for f in firms if f[0] == world["E1b"])
    assert moved[1] == world["G1"] and moved[2] == world["S1"]


def test_every_problem_is_listed_by_row_and_column_and_nothing_is_written(
        client: TestClient, as_user: Logins, world: World, database: Database) -> None:
    table = (HEADER
             + "G1,officer1,grid_officer,\n"       # 2: fine
             + "NOPE,officer1,grid_officer,\n"     # 3: unknown grid
             + "G1,ghost,other_force,\n"           # 4: unknown user
             + "G1,mgr1,grid_officer,\n"           # 5: not a grid officer
             + "G1,law1,captain,\n"                # 6: unknown role
             + f"G1,,,{uscc(1)}\n"                 # 7: fine
             + f"G1b,,,{uscc(1)}\n"                # 8: the same enterprise bound twice
             + f"G1,,,{uscc(3)}\n"                 # 9: an enterprise of D2 (out of scope)
             + f"G2,,,{uscc(2)}\n"                 # 10: a grid of D2
             + "G1,officer1,grid_officer,\n"       # 11: the same officer twice on a grid
             + f"G1,law1,other_force,{uscc(2)}\n"  # 12: both a user and an enterprise
             ).encode()
    before = _state(database)
    dry = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table,
                      params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    problems = [(p["row"], p["field"]) for p in dry.json()["problems"]]
    assert problems == [(3, "grid_code"), (4, "username"), (5, "role"), (6, "role"), (8, "uscc"), (9, "uscc"),
                        (10, "grid_code"), (11, "username"), (12, "username")]
    real = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"}, content=table)
    assert real.status_code == 422, real.text
    assert [(p["row"], p["field"]) for p in real.json()["rows"]] == problems
    assert _state(database) == before


def test_already_bound_and_bad_tables_are_refused(client: TestClient, as_user: Logins, world: World,
                                                  database: Database) -> None:
    first = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"},
                        content=(HEADER + "G1,officer1,grid_officer,\n").encode())
    assert first.status_code == 200, first.text
    before = _state(database)
    again = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"},
                        content=(HEADER + "G1,officer1,other_force,\n").encode())
    assert again.status_code == 422 and again.json()["rows"][0] == {
        "row": 2, "field": "username", "message": "already bound to this grid"}
    cols = client.post(URL, headers={**as_user("sup1"), "content-type": "text/csv"},
                       content=b"grid_code,user\nG1,x\n")
    assert cols.status_code == 422 and cols.json()["error"]["field"] == "username"
    media = client.post(URL, headers={**as_user("sup1"), "content-type": "application/pdf"}, content=b"%PDF")
    assert media.status_code == 415
    assert client.post(URL, headers={**as_user("officer1"), "content-type": "text/csv"},
                       content=HEADER.encode()).status_code == 403
    assert _state(database) == before


def test_an_excel_table_is_read_like_csv(client: TestClient, as_user: Logins, world: World,
                                         database: Database) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["grid_code", "username", "role", "uscc"])
    sheet.append(["G1", "officer1", "grid_officer", None])
    sheet.append(["G1", "ghost", "grid_officer", None])
    out = io.BytesIO()
    book.save(out)
    r = client.post(URL, headers={**as_user("sup1"), "content-type": XLSX_TYPE}, content=out.getvalue(),
                    params={"dry_run": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["officers"] == 1
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(3, "username")]
