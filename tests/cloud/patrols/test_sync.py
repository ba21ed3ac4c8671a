"""Offline sync of patrol records through the API on both databases: stored once, conflicts kept and reported,
bad input refused naming the field with nothing stored, scope on every read."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from fwsim.stage.world import World
from tests.cloud.conftest import Logins

API = "/api/v1"


def body(world: World, **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "id": str(uuid.uuid4()), "enterprise_id": world["E1"], "visited_at": "2026-05-04T08:30:00+08:00",
        "place": "厂区东侧", "checklist": [{"code": "exits", "result": "problem", "note": "通道堆放纸箱"},
                                        {"code": "dust", "result": "ok"}],
        "photos": ["ab" * 32], "findings": [{"description": "安全出口堵塞", "severity": "general"}]}
    b.update(over)
    return b


def _records(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get(f"{API}/patrol-records", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_the_same_record_twice_is_stored_once(client: TestClient, world: World, as_user: Logins) -> None:
    b = body(world)
    first = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=b)
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=b)
    assert again.status_code == 200 and again.json() == first.json()
    assert [r["id"] for r in _records(client, as_user("admin"))] == [b["id"]]
    assert first.json()["hazard_id"] is None and first.json()["officer_id"] == world["officer1"]


def test_other_content_under_a_stored_id_is_409_and_both_are_kept(client: TestClient, world: World,
                                                                  as_user: Logins) -> None:
    b = body(world)
    stored = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=b).json()
    edited = {**b, "place": "厂区西侧"}
    for _ in range(2):  # the phone retries: one conflict kept
        r = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=edited)
        assert r.status_code == 409, r.text
        assert r.json()["record_id"] == b["id"] and b["id"] in r.json()["error"]["message"]
    assert client.get(f"{API}/patrol-records/{b['id']}", headers=as_user("officer1")).json() == stored
    conflicts = client.get(f"{API}/patrol-conflicts", headers=as_user("sup1")).json()["items"]
    assert [(c["record_id"], c["body"]["place"]) for c in conflicts] == [(b["id"], "厂区西侧")]
    assert client.get(f"{API}/patrol-conflicts", headers=as_user("sup2")).json()["items"] == []
    assert client.get(f"{API}/patrol-conflicts", headers=as_user("mgr1")).json()["items"] == []


def test_bad_records_are_refused_naming_the_field(client: TestClient, world: World, as_user: Logins) -> None:
    cases = [(body(world, checklist=[{"code": "pickling_pool", "result": "ok"}]), "checklist.0.code"),
             (body(world, enterprise_id=world["E2"]), "enterprise_id"),
             (body(world, task_id=987654), "task_id"),
             (body(world, visited_at="2026-05-05T08:00:00+08:00"), "visited_at"),
             (body(world, photos=["not-a-hash"]), "photos"),
             (body(world, id="not-a-uuid"), "id")]
    for b, field in cases:
        r = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=b)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    assert _records(client, as_user("admin")) == []


def test_a_record_on_a_task_marks_it_done(client: TestClient, world: World, as_user: Logins) -> None:
    r = client.post(f"{API}/schedule/runs", headers=as_user("admin"),
                    json={"start": "2026-05-01", "end": "2026-05-31", "seed": 1})
    assert r.status_code == 201
    task = client.get(f"{API}/patrol-tasks", headers=as_user("officer1")).json()["items"][0]
    r = client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=body(world, task_id=task["id"]))
    assert r.status_code == 201, r.text
    done = client.get(f"{API}/patrol-tasks", headers=as_user("officer1"), params={"status": "done"}).json()["items"]
    assert [t["id"] for t in done] == [task["id"]]


def test_an_enterprise_reads_its_own_records_only(client: TestClient, world: World, as_user: Logins) -> None:
    b = body(world)
    assert client.post(f"{API}/patrol-records", headers=as_user("officer1"), json=b).status_code == 201
    assert [r["id"] for r in _records(client, as_user("mgr1"))] == [b["id"]]
    assert _records(client, as_user("mgr2")) == []
    assert client.get(f"{API}/patrol-records/{b['id']}", headers=as_user("mgr2")).status_code == 404
    assert client.post(f"{API}/patrol-records", headers=as_user("mgr1"), json=body(world)).status_code == 403
