"""What the gateway reports of the cloud's commands (``command_result``, protocols/uplink.md §5.3), and an
acknowledgement the gateway refused shown to the sender: the result kept on the command row (read back through
``GET /gateways/{id}/sent-commands``), the alert raised again with the gateway's code and a bilingual reason on
the alert, in its events, the feed and the notifications; ``applied`` leaves it acknowledged; duplicates,
unknown counters, unverified and malformed results change nothing they should not."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.alerts.models import Alert, AlertEvent
from cloud.alerts.notify import event_payload
from cloud.db.engine import Database
from cloud.ingest.models import UplinkRecord
from tests.cloud.alerts.test_alerts_api import ALERTS, alert_ids, send
from tests.cloud.conftest import Clock, Logins
from tests.cloud.ingest.helpers import T0_MS, alarm

SENT = "/api/v1/gateways/gw-e1/sent-commands"


def command_result(seq: int, counter: Any, result: str, *, kind: str = "alarm_ack",
                   verified: bool | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"counter": counter, "kind": kind, "result": result}
    if verified is not None:
        data["verified"] = verified
    return {"seq": seq, "kind": "event", "at_ms": T0_MS + seq * 1000, "body": {"type": "command_result", "data": data}}


def acknowledge(client: TestClient, headers: dict[str, str], alert_id: int) -> dict[str, Any]:
    r = client.post(f"{ALERTS}/{alert_id}/acknowledge", json={"note": "人员已撤离"}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def sent(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get(f"{SENT}?kind=alarm_ack", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def alert(client: TestClient, headers: dict[str, str], alert_id: int) -> dict[str, Any]:
    return dict(client.get(f"{ALERTS}/{alert_id}", headers=headers).json())


def steps(client: TestClient, headers: dict[str, str], alert_id: int) -> list[tuple[str, str, str | None]]:
    feed = client.get(f"{ALERTS}/feed", headers=headers).json()["items"]
    return [(e["event"], e["actor"], e["code"]) for e in feed if e["alert_id"] == alert_id]


def test_a_refused_acknowledgement_raises_the_alert_again_with_the_reason(
        client: TestClient, as_user: Logins, tokens: dict[str, str], clock: Clock, database: Database) -> None:
    mgr = as_user("mgr1")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "7")])
    [alert_id] = alert_ids(client, mgr)
    clock.advance(60)
    acknowledge(client, mgr, alert_id)
    [command] = sent(client, mgr)
    assert (command["result"], command["result_at"], command["verified"]) == (None, None, None)

    refusal = [command_result(2, command["counter"], "gas_present")]
    send(client, tokens["gw-e1"], "gw-e1", refusal)
    a = alert(client, mgr, alert_id)
    assert (a["state"], a["acknowledged_by"], a["acknowledged_at"]) == ("raised", None, None)
    assert a["refusal"]["code"] == "gas_present" and a["refusal"]["counter"] == command["counter"]
    assert "气体仍超标" in a["refusal"]["reason"] and "gas still present" in a["refusal"]["reason"]
    assert a["refusal"]["acknowledged_by"] == "mgr1"
    assert steps(client, mgr, alert_id) == [("raised", "gateway:gw-e1", None), ("acknowledged", "mgr1", None),
                                            ("ack_refused", "gateway:gw-e1", "gas_present")]
    feed = client.get(f"{ALERTS}/feed", headers=mgr).json()["items"]
    assert "gas still present" in feed[-1]["detail"] and feed[-1]["alert"]["state"] == "raised"
    [command] = sent(client, mgr)
    assert (command["result"], command["verified"]) == ("gas_present", True)
    assert command["result_at"].startswith("2026-05-04T09:00:02")
    # The notification (webhook, MQTT) says the same.
    with database.session(write=False) as db:
        event, row = db.execute(select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
                                .where(AlertEvent.event == "ack_refused")).one()
        payload = json.loads(event_payload(event, row))
    assert (payload["event"], payload["code"], payload["alert"]["state"]) == ("ack_refused", "gas_present", "raised")
    assert "气体仍超标" in payload["detail"]

    # The same record again, the same result under another seq, then the second delivery's `replayed`: nothing new.
    send(client, tokens["gw-e1"], "gw-e1", refusal)
    send(client, tokens["gw-e1"], "gw-e1", [command_result(3, command["counter"], "gas_present"),
                                            command_result(4, command["counter"], "replayed")])
    assert len(steps(client, mgr, alert_id)) == 3
    assert sent(client, mgr)[0]["result"] == "gas_present"

    # The gas back in range: the alarm still latches at the gateway; the cloud says so and takes a new ack.
    send(client, tokens["gw-e1"], "gw-e1", [alarm(5, "7", "cleared")])
    a = alert(client, mgr, alert_id)
    assert a["state"] == "raised"
    assert steps(client, mgr, alert_id)[-1] == ("cleared", "gateway:gw-e1", None)
    clock.advance(60)
    again = acknowledge(client, mgr, alert_id)
    assert (again["state"], again["acknowledged_by"], again["refusal"]) == ("acknowledged", "mgr1", None)
    second = sent(client, mgr)[0]
    assert second["counter"] > command["counter"] and second["result"] is None
    send(client, tokens["gw-e1"], "gw-e1", [command_result(6, second["counter"], "applied"),
                                            alarm(7, "7", "acknowledged", by="mgr1")])
    a = alert(client, mgr, alert_id)
    assert (a["state"], a["resolved_by"]) == ("resolved", "gateway:gw-e1:mgr1")  # acknowledged and cleared
    assert sent(client, mgr)[0]["result"] == "applied"


def test_a_state_lost_alarm_refused_until_the_space_is_confirmed_empty(
        client: TestClient, as_user: Logins, tokens: dict[str, str]) -> None:
    mgr = as_user("mgr1")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "3", cause="state_lost")])
    [alert_id] = alert_ids(client, mgr)
    acknowledge(client, mgr, alert_id)
    send(client, tokens["gw-e1"], "gw-e1", [command_result(2, sent(client, mgr)[0]["counter"],
                                                           "space_not_confirmed")])
    a = alert(client, mgr, alert_id)
    assert (a["state"], a["refusal"]["code"]) == ("raised", "space_not_confirmed")
    assert "确认空间内无人" in a["refusal"]["reason"] and "confirmed the space empty" in a["refusal"]["reason"]


def test_applied_leaves_the_alert_acknowledged(client: TestClient, as_user: Logins, tokens: dict[str, str]) -> None:
    mgr = as_user("mgr1")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "7")])
    [alert_id] = alert_ids(client, mgr)
    acknowledge(client, mgr, alert_id)
    counter = sent(client, mgr)[0]["counter"]
    send(client, tokens["gw-e1"], "gw-e1", [command_result(2, counter, "applied")])
    # `applied` is final: a later refusal of the same counter (a second delivery, a batch crossing) never undoes it.
    send(client, tokens["gw-e1"], "gw-e1", [command_result(3, counter, "gas_present"),
                                            command_result(4, counter, "replayed")])
    a = alert(client, mgr, alert_id)
    assert (a["state"], a["acknowledged_by"], a["refusal"]) == ("acknowledged", "mgr1", None)
    assert [e for e, _a, _c in steps(client, mgr, alert_id)] == ["raised", "acknowledged"]
    assert sent(client, mgr)[0]["result"] == "applied"


def test_unknown_unverified_mismatched_and_malformed_results_are_kept_harmlessly(
        client: TestClient, as_user: Logins, tokens: dict[str, str], database: Database) -> None:
    mgr = as_user("mgr1")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "7")])
    [alert_id] = alert_ids(client, mgr)
    acknowledge(client, mgr, alert_id)
    counter = sent(client, mgr)[0]["counter"]
    send(client, tokens["gw-e1"], "gw-e1", [
        command_result(2, 999, "gas_present"),  # a counter the cloud never issued
        command_result(3, counter, "gas_present", kind="permit_issued"),  # not what that counter carried
        command_result(4, "x", "gas_present"),  # not a counter
        command_result(5, counter, "nonsense"),  # not a result code
        command_result(6, counter, "bad_signature", verified=False),  # only a claim: kept, never acted on
    ])
    a = alert(client, mgr, alert_id)
    assert (a["state"], a["refusal"]) == ("acknowledged", None)
    [command] = sent(client, mgr)
    assert (command["result"], command["verified"]) == ("bad_signature", False)
    with database.session(write=False) as db:  # every record stored all the same
        kinds = db.execute(select(UplinkRecord.seq).where(UplinkRecord.gateway_id == "gw-e1",
                                                          UplinkRecord.kind == "event")).scalars().all()
    assert sorted(kinds) == [2, 3, 4, 5, 6]
    # A verified result supersedes the unverified claim, and acts.
    send(client, tokens["gw-e1"], "gw-e1", [command_result(7, counter, "gas_present")])
    assert alert(client, mgr, alert_id)["state"] == "raised"
    assert (sent(client, mgr)[0]["result"], sent(client, mgr)[0]["verified"]) == ("gas_present", True)


def test_a_refusal_never_undoes_what_moved_on_without_it(client: TestClient, as_user: Logins,
                                                         tokens: dict[str, str], clock: Clock) -> None:
    mgr = as_user("mgr1")
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "7"), alarm(2, "8", cause="overtime", level=1)])
    by_alarm = {a["alarm_id"]: a["id"] for a in client.get(ALERTS, headers=mgr).json()["items"]}
    # Alarm 7: acknowledged by a person at the hatch too — the gateway's word stands, whichever record comes first.
    acknowledge(client, mgr, by_alarm["7"])
    counter = sent(client, mgr)[0]["counter"]
    send(client, tokens["gw-e1"], "gw-e1", [alarm(4, "7", "acknowledged", by="local_input")])
    send(client, tokens["gw-e1"], "gw-e1", [command_result(3, counter, "gas_present")])  # batches crossed
    assert alert(client, mgr, by_alarm["7"])["state"] == "acknowledged"
    # Alarm 8: acknowledged, then resolved by a person before the refusal came: the gateway's alarm still latches,
    # so the alert is raised again.
    clock.advance(5)
    acknowledge(client, mgr, by_alarm["8"])
    assert client.post(f"{ALERTS}/{by_alarm['8']}/resolve", json={}, headers=mgr).status_code == 200
    send(client, tokens["gw-e1"], "gw-e1", [command_result(5, sent(client, mgr)[0]["counter"], "failed")])
    a = alert(client, mgr, by_alarm["8"])
    assert (a["state"], a["resolved_by"], a["refusal"]["code"]) == ("raised", None, "failed")


def test_sent_commands_are_scoped_to_the_gateways_enterprise(client: TestClient, as_user: Logins,
                                                             tokens: dict[str, str]) -> None:
    send(client, tokens["gw-e1"], "gw-e1", [alarm(1, "7")])
    [alert_id] = alert_ids(client, as_user("mgr1"))
    acknowledge(client, as_user("mgr1"), alert_id)
    assert len(sent(client, as_user("sup1"))) == 1
    assert client.get(SENT, headers=as_user("mgr2")).status_code == 404
    assert client.get(SENT).status_code == 401
    assert client.get(f"{SENT}?kind=permit_issued", headers=as_user("mgr1")).json()["items"] == []
