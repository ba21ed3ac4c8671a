"""Binding officers to grids and the street / district balance report, over HTTP on both databases."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloud.db.engine import Database
from cloud.grid.models import OfficerBinding
from cloud.registry.models import Enterprise
from fwsim.stage.world import PASSWORD, World
from tests.cloud.conftest import Logins

API = "/api/v1"


def _bindings(database: Database) -> list[tuple[int, int, str]]:
    with database.session(write=False) as db:
        return sorted((b.grid_id, b.user_id, b.role.value) for b in db.execute(select(OfficerBinding)).scalars())


def _enterprises_in(database: Database, grid_id: int) -> int:
    with database.session(write=False) as db:
        return int(db.execute(select(func.count()).where(Enterprise.grid_id == grid_id)).scalar_one())


def _new_officer(client: TestClient, as_user: Logins, world: World, name: str) -> int:
    r = client.post(f"{API}/users", headers=as_user("admin"), json={
        "username": name, "display_name": name, "password": PASSWORD, "role": "grid_officer",
        "scope": {"kind": "grid", "id": world["G1"]}})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _bind(client: TestClient, as_user: Logins, grid_id: int, body: dict[str, Any], user: str = "sup1") -> Any:
    return client.post(f"{API}/grids/{grid_id}/bindings", headers=as_user(user), json=body)


def test_binding_an_officer_is_stored_and_audited(client: TestClient, as_user: Logins, world: World,
                                                   database: Database) -> None:
    r = _bind(client, as_user, world["G1"], {"user_id": world["officer1"], "role": "grid_officer"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": r.json()["id"], "grid_id": world["G1"], "user_id": world["officer1"],
                        "role": "grid_officer"}
    assert _bindings(database) == [(world["G1"], world["officer1"], "grid_officer")]
    audit = client.get(f"{API}/audit", headers=as_user("admin"), params={"entity": "grid_officer_binding"})
    assert audit.status_code == 200
    assert any(e["action"] == "grid.bind" for e in audit.json()["items"])


def test_bad_bindings_are_refused_naming_the_field_and_change_nothing(client: TestClient, as_user: Logins,
                                                                      world: World, database: Database) -> None:
    first = _bind(client, as_user, world["G1"], {"user_id": world["officer1"], "role": "grid_officer"})
    assert first.status_code == 201
    before = _bindings(database)
    cases = [
        ({"user_id": world["officer1"], "role": "other_force"}, 409, "user_id"),  # bound twice
        ({"user_id": 987_654, "role": "other_force"}, 422, "user_id"),  # unknown user
        ({"user_id": world["mgr2"], "role": "other_force"}, 422, "user_id"),  # a user of D2
        ({"user_id": world["mgr1"], "role": "grid_officer"}, 422, "role"),  # not a grid officer
        ({"user_id": world["officer1"], "role": "captain"}, 422, "role"),  # no such role
    ]
    for body, status, fieldname in cases:
        r = _bind(client, as_user, world["G1"], body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["field"] == fieldname, (body, r.text)
    assert _bindings(database) == before


def test_only_area_managers_bind_and_only_in_their_scope(client: TestClient, as_user: Logins, world: World,
                                                         database: Database) -> None:
    body = {"user_id": world["officer1"], "role": "grid_officer"}
    assert _bind(client, as_user, world["G1"], body, user="officer1").status_code == 403
    assert _bind(client, as_user, world["G1"], body, user="sup2").status_code == 404
    assert _bindings(database) == []


def test_street_balance_reports_rules_and_unbound_officers(client: TestClient, as_user: Logins, world: World,
                                                           database: Database) -> None:
    url = f"{API}/streets/{world['S1']}/grid-balance"
    first = client.get(url, headers=as_user("sup1"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["officers_without_grid"] == ["officer1"]
    g1 = {g["code"]: g for g in body["grids"]}
    assert {g["grid_id"] for g in body["grids"]} == {world["G1"], world["G1b"]}
    n = _enterprises_in(database, world["G1"])
    assert n >= 1
    row = next(g for g in body["grids"] if g["grid_id"] == world["G1"])
    assert row["officers"] == 0 and row["per_officer"] is None and row["over_load"] and row["too_few_officers"]
    assert body["enterprises"] == n + _enterprises_in(database, world["G1b"]) and len(g1) == 2

    second = _new_officer(client, as_user, world, "officer1b")
    for user in (world["officer1"], second):
        assert _bind(client, as_user, world["G1"], {"user_id": user, "role": "grid_officer"}).status_code == 201
    # area leads and other forces are bound but do not carry the load
    assert _bind(client, as_user, world["G1"], {"user_id": world["law1"], "role": "other_force"}).status_code == 201
    body = client.get(url, headers=as_user("sup1")).json()
    row = next(g for g in body["grids"] if g["grid_id"] == world["G1"])
    assert row["officers"] == 2 and row["per_officer"] == round(n / 2, 2)
    assert not row["too_few_officers"] and not row["over_load"]
    assert body["officers_without_grid"] == []
    # a load below the grid's enterprises per officer puts it over load
    tight = client.get(url, headers=as_user("sup1"), params={"load": 1}).json() if n > 2 else None
    if tight is not None:
        assert next(g for g in tight["grids"] if g["grid_id"] == world["G1"])["over_load"]


def test_balance_as_csv_and_per_district(client: TestClient, as_user: Logins, world: World,
                                         database: Database) -> None:
    r = client.get(f"{API}/districts/{world['D1']}/grid-balance", headers=as_user("sup1"),
                   params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["enterprises"] for row in rows if row["grid_code"]] and len(rows) == 2
    assert {int(row["enterprises"]) for row in rows} == {_enterprises_in(database, world["G1"]),
                                                         _enterprises_in(database, world["G1b"])}
    assert all(row["officers"] == "0" and row["over_load"] == "True" for row in rows)


def test_balance_is_for_those_who_see_the_area(client: TestClient, as_user: Logins, world: World) -> None:
    for user in ("sup2", "officer1", "mgr1"):
        assert client.get(f"{API}/streets/{world['S1']}/grid-balance", headers=as_user(user)).status_code == 404
        assert client.get(f"{API}/districts/{world['D1']}/grid-balance", headers=as_user(user)).status_code == 404
    bad = client.get(f"{API}/streets/{world['S1']}/grid-balance", headers=as_user("sup1"), params={"load": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.load"
    bad = client.get(f"{API}/streets/{world['S1']}/grid-balance", headers=as_user("sup1"), params={"format": "xml"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.format"
