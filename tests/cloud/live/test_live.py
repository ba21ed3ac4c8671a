"""Live operations: open sessions with their latest gas readings, timers and open alarms, scoped."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fwsim.stage.world import World
from tests.cloud.conftest import Clock, Logins
from tests.cloud.ingest.helpers import T0_MS, alarm, batch_bytes, session, telemetry

LIVE = "/api/v1/live/sessions"


def send(client: TestClient, token: str, gateway: str, records: list[dict[str, Any]]) -> None:
    r = client.post(f"/api/v1/gateways/{gateway}/batches", content=batch_bytes(gateway, records),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def test_open_sessions_with_readings_timers_and_alarms(client: TestClient, as_user: Logins, world: World,
                                                       tokens: dict[str, str], clock: Clock) -> None:
    clock.advance(60)
    send(client, tokens["gw-e1"], "gw-e1", [
        session(1, "s1", "in_work", entrants=2, deadline_ms=T0_MS + 30 * 60_000), telemetry(2, h2s=1.0),
        telemetry(3, h2s=4.5), alarm(4, "a1", session_id="s1"), telemetry(5, space="other", detector="GD-9"),
        session(6, "s0", "in_work", space="other"), session(7, "s0", "closed", space="other")])
    send(client, tokens["gw-e2"], "gw-e2", [session(1, "t1", "in_work", space="SP2")])
    r = client.get(LIVE, headers=as_user("mgr1"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1
    s = page["items"][0]
    assert (s["session_id"], s["state"], s["entrants"], s["space_id"], s["space_name"]) == (
        "s1", "in_work", 2, world["SP1"], "污水池 SP1")
    assert s["remaining_s"] == 30 * 60 - 60 and s["overtime"] is False
    assert {(x["gas"], x["value"], x["age_s"]) for x in s["readings"]} == {("O2", 20.9, 57), ("H2S", 4.5, 57)}
    assert [(a["alarm_id"], a["state"]) for a in s["alarms"]] == [("a1", "raised")]
    assert s["alarms"][0]["rescue_card"]["isolation_points"] == ["进水阀"]
    clock.advance(30 * 60)
    assert client.get(LIVE, headers=as_user("mgr1")).json()["items"][0]["overtime"] is True
    assert [x["session_id"] for x in client.get(LIVE, headers=as_user("admin")).json()["items"]] == ["s1", "t1"]
    assert [x["session_id"] for x in client.get(f"{LIVE}?district_id={world['D2']}",
                                                headers=as_user("admin")).json()["items"]] == ["t1"]
    assert client.get(LIVE, headers=as_user("mgr2")).json()["total"] == 1
    assert client.get(LIVE, headers=as_user("sup2")).json()["items"][0]["session_id"] == "t1"
    assert client.get(f"{LIVE}?enterprise_id={world['E2']}", headers=as_user("mgr1")).json()["total"] == 0
    assert client.get(LIVE).status_code == 401
    r = client.get(f"{LIVE}?space_id=x", headers=as_user("mgr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.space_id"
    send(client, tokens["gw-e1"], "gw-e1", [session(8, "s1", "closed")])
    assert client.get(LIVE, headers=as_user("mgr1")).json()["total"] == 0


def test_the_entrant_count_follows_the_latest_session_record_by_seq(client: TestClient, as_user: Logins,
                                                                    world: World, tokens: dict[str, str]) -> None:
    """The gateway restates the session (same state) whenever the number inside changes; batches may arrive in
    any order (a shared subscription keeps none), the count shown is the one of the highest seq."""
    deadline = T0_MS + 30 * 60_000

    def entrants() -> int:
        items = client.get(LIVE, headers=as_user("mgr1")).json()["items"]
        assert [s["state"] for s in items] == ["in_work"]
        return int(items[0]["entrants"])

    send(client, tokens["gw-e1"], "gw-e1", [session(3, "s1", "in_work", entrants=2, deadline_ms=deadline)])
    send(client, tokens["gw-e1"], "gw-e1", [session(1, "s1", "in_work", deadline_ms=deadline),
                                            session(2, "s1", "in_work", entrants=1, deadline_ms=deadline)])
    assert entrants() == 2  # the older records arrived later and changed nothing
    send(client, tokens["gw-e1"], "gw-e1", [session(5, "s1", "in_work", entrants=0, deadline_ms=deadline)])
    send(client, tokens["gw-e1"], "gw-e1", [session(4, "s1", "in_work", entrants=1, deadline_ms=deadline)])
    assert entrants() == 0
    send(client, tokens["gw-e1"], "gw-e1", [session(6, "s1", "in_work", entrants=1, deadline_ms=deadline)])
    assert entrants() == 1
