"""Alerts over the API: raised from ingested alarms with the space's rescue card, the lifecycle
raised → acknowledged → resolved with who and when, the signed alarm_ack to the gateway, the in-app feed,
queries by district, enterprise, space and time, and object-level authorization (401/403/404/409/422)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.audit.models import AuditEntry
from cloud.db.engine import Database
from cloud.downlink.models import DownlinkCommand
from cloud.keys.service import KeyStore
from fwsim.stage.world import World
from protocols.commands import AlarmAck, verify_command
from tests.cloud.conftest import Clock, Logins
from tests.cloud.ingest.helpers import T0_MS, alarm, batch_bytes

ALERTS = "/api/v1/alerts"


def send(client: TestClient, token: str, gateway: str, records: list[dict[str, Any]]) -> None:
    r = client.post(f"/api/v1/gateways/{gateway}/batches", content=batch_bytes(gateway, records),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def alert_ids(client: TestClient, headers: dict[str, str], query: str = "") -> list[int]:
    r = client.get(f"{ALERTS}{query}", headers=headers)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["items"]]


def test_an_alarm_becomes_an_alert_with_the_rescue_card(client: TestClient, as_user: Logins, world: World,
                                                        tokens: dict[str, str]) -> None:
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1", space="SP1", session_id="s1")])
    items = client.get(ALERTS, headers=as_user("mgr1")).json()["items"]
    assert len(items) == 1
    a = items[0]
    assert (a["kind"], a["state"], a["level"], a["cause"], a["space_id"], a["alarm_id"]) == (
        "alarm", "raised", 2, "gas_level2", world["SP1"], "a1")
    assert a["rescue_card"]["rescue_equipment"] == ["三脚架"]
    assert a["rescue_card"]["emergency_contacts"][0]["phone"] == "0755-12345678"
    assert "H2S 21 ppm" in a["title"] and "污水池 SP1" in a["title"]
    assert a["raised_at"].startswith("2026-05-04T09:00:01")
    # The same record again (a re-send) raises nothing new.
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1", space="SP1")])
    assert len(alert_ids(client, as_user("admin"))) == 1


def test_alerts_are_scoped_and_filtered(client: TestClient, as_user: Logins, world: World,
                                        tokens: dict[str, str], clock: Clock) -> None:
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1"), alarm(2, "a2", space="nowhere")])
    send(client, tokens["gw-e2"], "gw-e2", [alarm(1, "b1", space="SP2") | {"at_ms": T0_MS + 3_600_000}])
    e1 = set(alert_ids(client, as_user("mgr1")))
    e2 = set(alert_ids(client, as_user("mgr2")))
    assert len(e1) == 2 and len(e2) == 1
    assert set(alert_ids(client, as_user("admin"))) == e1 | e2
    assert set(alert_ids(client, as_user("sup1"))) == set(alert_ids(client, as_user("officer1"))) == e1
    assert set(alert_ids(client, as_user("sup2"))) == e2
    assert set(alert_ids(client, as_user("admin"), f"?district_id={world['D2']}")) == e2
    assert set(alert_ids(client, as_user("admin"), f"?enterprise_id={world['E1']}")) == e1
    assert len(alert_ids(client, as_user("admin"), f"?space_id={world['SP1']}")) == 1
    assert set(alert_ids(client, as_user("admin"), "?since=2026-05-04T09:30:00Z")) == e2
    assert set(alert_ids(client, as_user("admin"), "?until=2026-05-04T09:30:00%2B00:00")) == e1
    assert alert_ids(client, as_user("mgr1"), f"?enterprise_id={world['E2']}") == []
    for actor, target in (("mgr1", e2), ("sup1", e2), ("mgr2", e1), ("sup2", e1)):
        for alert_id in target:
            assert client.get(f"{ALERTS}/{alert_id}", headers=as_user(actor)).status_code == 404
            r = client.post(f"{ALERTS}/{alert_id}/acknowledge", json={}, headers=as_user(actor))
            assert r.status_code == 404, actor
    assert client.get(ALERTS).status_code == 401
    assert client.get(f"{ALERTS}/{min(e1)}").status_code == 401
    for query, field in (("?state=sleeping", "query.state"), ("?since=yesterday", "query.since"),
                         ("?limit=0", "query.limit"), ("?district_id=0", "query.district_id")):
        r = client.get(f"{ALERTS}{query}", headers=as_user("admin"))
        assert r.status_code == 422 and r.json()["error"]["field"] == field, query
    assert client.get(f"{ALERTS}/999999", headers=as_user("admin")).status_code == 404


def test_lifecycle_with_who_and_when_and_the_alarm_ack_to_the_gateway(
        client: TestClient, as_user: Logins, world: World, tokens: dict[str, str], clock: Clock,
        database: Database, keystore: KeyStore) -> None:
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1")])
    [alert_id] = alert_ids(client, as_user("mgr1"))
    url = f"{ALERTS}/{alert_id}"
    assert client.post(f"{url}/acknowledge", json={}).status_code == 401
    for name in ("worker1", "law1"):  # may read, may not handle
        assert client.get(url, headers=as_user(name)).status_code == 200
        assert client.post(f"{url}/acknowledge", json={}, headers=as_user(name)).status_code == 403
    r = client.post(f"{url}/acknowledge", json={"note": "x" * 301}, headers=as_user("mgr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "note"
    r = client.post(f"{url}/acknowledge", json={"state": "resolved"}, headers=as_user("mgr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "state"
    r = client.post(f"{url}/resolve", json={}, headers=as_user("mgr1"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_state"
    clock.advance(90)
    r = client.post(f"{url}/acknowledge", json={"note": "evacuated"}, headers=as_user("mgr1"))
    assert r.status_code == 200, r.text
    a = r.json()
    assert (a["state"], a["acknowledged_by"], a["note"]) == ("acknowledged", "mgr1", "evacuated")
    assert a["acknowledged_at"].startswith("2026-05-04T09:01:30")
    assert client.post(f"{url}/acknowledge", json={}, headers=as_user("sup1")).status_code == 409
    # The gateway gets a signed alarm_ack for its alarm, on its down channel.
    with database.session(write=False) as db:
        command = db.execute(select(DownlinkCommand).where(DownlinkCommand.kind == "alarm_ack")).scalar_one()
    verified = verify_command(command.signed.encode(), keystore.keyring().command_keys(now=clock.now),
                              gateway_id="gw-e1", last_counter=0, now_ms=T0_MS + 100_000)
    assert isinstance(verified, AlarmAck)
    assert (verified.body.alarm_id, verified.body.by, verified.body.space_id, verified.body.note) == (
        "a1", "mgr1", "SP1", "evacuated")
    clock.advance(60)
    r = client.post(f"{url}/resolve", json={}, headers=as_user("officer1"))
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["resolved_by"]) == ("resolved", "officer1")
    assert client.post(f"{url}/resolve", json={}, headers=as_user("mgr1")).status_code == 409
    # The gateway's own acknowledgement arriving later changes nothing.
    send(client, tokens["gw-e1"], "gw-e1", [alarm(2, "a1", "acknowledged", by="mgr1"), alarm(3, "a1", "cleared")])
    assert client.get(url, headers=as_user("mgr1")).json()["resolved_by"] == "officer1"
    with database.session(write=False) as db:
        actions = db.execute(select(AuditEntry.action).where(AuditEntry.entity == "alert")
                             .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["alert.acknowledge", "alert.resolve"]


def test_gateway_steps_in_any_order(client: TestClient, as_user: Logins, tokens: dict[str, str]) -> None:
    # The clear reaches the cloud before the raise (batches crossed): the alert ends resolved, with the facts,
    # once the acknowledgement (the step that closed the alarm at the gateway, whatever the order) is there too.
    send(client, tokens["gw-e1"], "gw-e1", [alarm(5, "a9", "cleared", cause="overtime", level=1)])
    [a] = client.get(ALERTS, headers=as_user("mgr1")).json()["items"]
    assert a["state"] == "raised"  # cleared but not acknowledged: the gateway's alarm still latches
    send(client, tokens["gw-e1"], "gw-e1", [alarm(2, "a9", "raised", cause="overtime", level=1),
                                            alarm(3, "a9", "acknowledged", cause="overtime", level=1,
                                                  by="local_input")])
    [a] = client.get(ALERTS, headers=as_user("mgr1")).json()["items"]
    assert (a["state"], a["cause"], a["resolved_by"]) == ("resolved", "overtime", "gateway:gw-e1:local_input")
    assert a["acknowledged_by"] == "gateway:gw-e1:local_input"
    assert a["raised_at"].startswith("2026-05-04T09:00:02")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(6, "a10", "raised"), alarm(7, "a10", "acknowledged",
                                                                             by="local_input")])
    a = next(x for x in client.get(ALERTS, headers=as_user("mgr1")).json()["items"] if x["alarm_id"] == "a10")
    assert (a["state"], a["acknowledged_by"]) == ("acknowledged", "gateway:gw-e1:local_input")


def test_the_feed_tells_every_step_in_scope(client: TestClient, as_user: Logins, tokens: dict[str, str]) -> None:
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1")])
    send(client, tokens["gw-e2"], "gw-e2", [alarm(1, "b1", space="SP2")])
    [alert_id] = alert_ids(client, as_user("mgr1"))
    client.post(f"{ALERTS}/{alert_id}/acknowledge", json={}, headers=as_user("mgr1"))
    client.post(f"{ALERTS}/{alert_id}/resolve", json={}, headers=as_user("mgr1"))
    feed = client.get(f"{ALERTS}/feed", headers=as_user("mgr1")).json()
    assert [(e["event"], e["actor"]) for e in feed["items"]] == [
        ("raised", "gateway:gw-e1"), ("acknowledged", "mgr1"), ("resolved", "mgr1")]
    assert feed["items"][-1]["alert"]["state"] == "resolved"
    after = feed["items"][0]["id"]
    rest = client.get(f"{ALERTS}/feed?after={after}", headers=as_user("mgr1")).json()
    assert [e["event"] for e in rest["items"]] == ["acknowledged", "resolved"]
    assert client.get(f"{ALERTS}/feed?after={rest['next_after']}", headers=as_user("mgr1")).json()["items"] == []
    assert [e["event"] for e in client.get(f"{ALERTS}/feed", headers=as_user("mgr2")).json()["items"]] == ["raised"]
    assert client.get(f"{ALERTS}/feed").status_code == 401
    assert client.get(f"{ALERTS}/feed?after=-1", headers=as_user("mgr1")).status_code == 422


def test_time_filters_use_the_gateways_time(client: TestClient, as_user: Logins, tokens: dict[str, str],
                                            clock: Clock) -> None:
    clock.advance(timedelta(days=1).total_seconds())  # the cloud's clock is not what dates an alarm
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "a1")])
    assert len(alert_ids(client, as_user("mgr1"), "?since=2026-05-04T09:00:00Z&until=2026-05-04T09:01:00Z")) == 1
