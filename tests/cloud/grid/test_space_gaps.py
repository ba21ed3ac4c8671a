"""Grid officers' list of confined spaces lacking a gateway, a padlock or rescue guidance, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cloud.db.engine import Database
from cloud.devices.models import Detector, Gateway, GatewayStatus, Padlock
from cloud.grid.ledger import missing
from fwsim.stage.world import World
from tests.cloud.conftest import Clock, Logins

API = "/api/v1"


def test_missing_names_each_gap_in_order() -> None:
    assert missing(watched=False, padlocked=False, rescue_notes=" ") == ["gateway", "padlock", "rescue_guidance"]
    assert missing(watched=True, padlocked=False, rescue_notes="三脚架救援") == ["padlock"]
    assert missing(watched=True, padlocked=True, rescue_notes="三脚架救援") == []


def _gateway(database: Database, world: World, clock: Clock, gid: str, status: GatewayStatus) -> None:
    with database.session(write=True) as db:
        db.add(Gateway(id=gid, enterprise_id=world["E1"], name=gid, status=status, epoch=0, created_at=clock.now,
                       updated_at=clock.now))
        db.flush()
        db.add(Detector(label=f"GD-{gid}", enterprise_id=world["E1"], space_id=world["SP1"], gateway_id=gid,
                        bus="rs485-1", unit_id=1, profile="generic-4gas", status="active", created_at=clock.now,
                        updated_at=clock.now))
        db.commit()


def test_gaps_close_one_by_one(client: TestClient, as_user: Logins, world: World, database: Database,
                               clock: Clock) -> None:
    url = f"{API}/grids/{world['G1']}/space-gaps"
    r = client.get(url, headers=as_user("officer1"))
    assert r.status_code == 200, r.text
    assert [(g["space_id"], g["enterprise_id"], g["missing"]) for g in r.json()] == [
        (world["SP1"], world["E1"], ["gateway", "padlock", "rescue_guidance"])]  # SP1b is in G1b, not here

    _gateway(database, world, clock, "gw-pending", GatewayStatus.PENDING)  # reports nothing yet: still a gap
    assert client.get(url, headers=as_user("officer1")).json()[0]["missing"][0] == "gateway"
    _gateway(database, world, clock, "gw-active", GatewayStatus.ACTIVE)
    assert client.get(url, headers=as_user("officer1")).json()[0]["missing"] == ["padlock", "rescue_guidance"]

    with database.session(write=True) as db:
        db.add(Padlock(lock_id="00112233445566aa", label="PL-1", enterprise_id=world["E1"], space_id=world["SP1"],
                       gateway_id=None, public_key="00" * 32, status="active", created_at=clock.now,
                       updated_at=clock.now))
        db.commit()
    assert client.get(url, headers=as_user("officer1")).json()[0]["missing"] == ["rescue_guidance"]
    patched = client.patch(f"{API}/confined-spaces/{world['SP1']}", headers=as_user("mgr1"),
                           json={"rescue_notes": "三脚架 + 正压式空气呼吸器；先通风检测再施救"})
    assert patched.status_code == 200, patched.text
    assert client.get(url, headers=as_user("officer1")).json() == []


def test_gaps_are_for_those_who_see_the_grid(client: TestClient, as_user: Logins, world: World) -> None:
    url = f"{API}/grids/{world['G1']}/space-gaps"
    assert client.get(url, headers=as_user("sup1")).status_code == 200
    for user in ("sup2", "mgr1", "mgr2"):
        assert client.get(url, headers=as_user(user)).status_code == 404
    assert client.get(f"{API}/grids/{world['G1b']}/space-gaps", headers=as_user("officer1")).status_code == 404


def test_the_ledger_per_street_and_district_as_json_and_csv(client: TestClient, as_user: Logins, world: World,
                                                            database: Database, clock: Clock) -> None:
    _gateway(database, world, clock, "gw-active", GatewayStatus.ACTIVE)
    street = client.get(f"{API}/streets/{world['S1']}/space-ledger", headers=as_user("sup1"))
    assert street.status_code == 200, street.text
    rows = {r["space_id"]: r for r in street.json()}
    assert set(rows) == {world["SP1"], world["SP1b"]}
    assert rows[world["SP1"]]["watched"] and not rows[world["SP1b"]]["watched"]
    assert rows[world["SP1"]]["grid_code"] == "G1" and rows[world["SP1"]]["enterprise_id"] == world["E1"]
    assert rows[world["SP1"]]["hazards"] == ["toxic_gas", "oxygen_deficiency"]
    assert not any(r["padlocked"] or r["rescue_guidance"] for r in rows.values())

    csv_r = client.get(f"{API}/districts/{world['D1']}/space-ledger", headers=as_user("sup1"),
                       params={"format": "csv"})
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    lines = csv_r.text.splitlines()
    assert lines[0].split(",")[:4] == ["grid_code", "uscc", "enterprise_name", "space_code"]
    assert len(lines) == 3 and "toxic_gas;oxygen_deficiency" in lines[1]
    assert [line.split(",")[0] for line in lines[1:]] == ["G1", "G1b"]

    d2 = client.get(f"{API}/districts/{world['D2']}/space-ledger", headers=as_user("sup2")).json()
    assert [r["space_id"] for r in d2] == [world["SP2"]]


def test_the_ledger_is_for_those_who_see_the_area(client: TestClient, as_user: Logins, world: World) -> None:
    for user in ("sup2", "officer1", "mgr1"):
        assert client.get(f"{API}/streets/{world['S1']}/space-ledger", headers=as_user(user)).status_code == 404
        assert client.get(f"{API}/districts/{world['D1']}/space-ledger", headers=as_user(user)).status_code == 404
    bad = client.get(f"{API}/streets/{world['S1']}/space-ledger", headers=as_user("sup1"), params={"format": "xls"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.format"
