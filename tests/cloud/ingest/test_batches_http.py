"""The HTTP door: POST /api/v1/gateways/{gw}/batches with device tokens — acks after commit, gzip, and every
refusal (401/403/409/413/415/422) leaving stored data untouched; the streams endpoint's scoping (404)."""

from __future__ import annotations

import gzip
import json
import re

from fastapi.testclient import TestClient

from cloud.db.engine import Database
from cloud.ingest.router import BATCHES_PATH_PATTERN
from fwsim.stage.world import World
from protocols.uplink import decode_ack
from protocols.uplink.fields import GATEWAY_ID_RE
from tests.cloud.conftest import Logins
from tests.cloud.ingest.helpers import batch_bytes, reading_count, stored_seqs, telemetry

JSON = {"Content-Type": "application/json"}


def url(gateway: str) -> str:
    return f"/api/v1/gateways/{gateway}/batches"


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON, **extra}


def post(client: TestClient, gateway: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    r = client.post(url(gateway), content=body, headers=headers)
    return r.status_code, r.json()


def test_a_batch_is_acknowledged_after_commit(client: TestClient, database: Database, tokens: dict[str, str]) -> None:
    body = batch_bytes("gw-e1", [telemetry(s) for s in range(1, 6)])
    r = client.post(url("gw-e1"), content=body, headers=auth(tokens["gw-e1"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    ack = decode_ack(r.content)
    assert (ack.gateway, ack.epoch, ack.watermark, ack.gaps) == ("gw-e1", 1, 5, [])
    assert stored_seqs(database, "gw-e1") == [1, 2, 3, 4, 5]
    # Re-sent (the ack was lost) and gzip-compressed with a gap: the same rows, the gap reported.
    body = batch_bytes("gw-e1", [telemetry(s) for s in (1, 2, 3, 4, 5, 8)], compress=True)
    r = client.post(url("gw-e1"), content=body, headers=auth(tokens["gw-e1"], **{"Content-Encoding": "gzip"}))
    assert r.status_code == 200
    assert json.loads(r.content) == {"v": 1, "gateway": "gw-e1", "epoch": 1, "watermark": 5,
                                     "gaps": [{"first": 6, "last": 7}]}
    assert reading_count(database, "gw-e1") == 12
    # An empty batch asks for the current ack.
    assert decode_ack(client.post(url("gw-e1"), content=batch_bytes("gw-e1", []),
                                  headers=auth(tokens["gw-e1"])).content).watermark == 5


def test_credentials(client: TestClient, database: Database, tokens: dict[str, str]) -> None:
    body = batch_bytes("gw-e1", [telemetry(1)])
    assert post(client, "gw-e1", body, JSON)[0] == 401
    assert post(client, "gw-e1", body, auth("sgd_not-a-token"))[0] == 401
    assert post(client, "gw-e1", body, auth("sgc_a-user-token-shape"))[0] == 401
    # Another gateway's token, an unknown gateway, a batch naming another gateway: 403, nothing stored.
    status, err = post(client, "gw-e1", body, auth(tokens["gw-e2"]))
    assert status == 403 and err["error"]["code"] == "wrong_gateway"  # type: ignore[index]
    assert post(client, "gw-nobody", body, auth(tokens["gw-e1"]))[0] == 403
    status, err = post(client, "gw-e2", body, auth(tokens["gw-e2"]))  # envelope says gw-e1
    assert status == 403 and err["error"]["code"] == "wrong_gateway"  # type: ignore[index]
    assert stored_seqs(database, "gw-e1") == [] and stored_seqs(database, "gw-e2") == []


def test_malformed_and_forged_batches_touch_nothing(client: TestClient, database: Database,
                                                    tokens: dict[str, str]) -> None:
    h = auth(tokens["gw-e1"])
    assert post(client, "gw-e1", batch_bytes("gw-e1", [telemetry(1), telemetry(2)]), h)[0] == 200
    good = json.loads(batch_bytes("gw-e1", [telemetry(3), telemetry(4)]))
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "body"),
        (json.dumps({**good, "records": [good["records"][1], good["records"][0]]}).encode(), "body"),  # seq order
        (json.dumps({**good, "epoch": 0}).encode(), "epoch"),
        (json.dumps({**good, "admin": True}).encode(), "admin"),
        (json.dumps({**good, "records": [{**good["records"][0], "seq": "3"}]}).encode(), "records.0.telemetry.seq"),
        (gzip.compress(json.dumps(good).encode())[:-9], "gzip"),
    ]
    for body, field in cases:
        status, err = post(client, "gw-e1", body, h)
        assert status == 422 and err["error"]["field"] == field, (field, err)  # type: ignore[index]
    assert stored_seqs(database, "gw-e1") == [1, 2] and reading_count(database, "gw-e1") == 4


def test_content_type_encoding_epoch_and_size(client: TestClient, database: Database,
                                              tokens: dict[str, str]) -> None:
    h = auth(tokens["gw-e1"])
    body = batch_bytes("gw-e1", [telemetry(1)])
    assert post(client, "gw-e1", body, {**h, "Content-Type": "text/plain"})[0] == 415
    assert post(client, "gw-e1", body, {**h, "Content-Encoding": "br"})[0] == 415
    status, err = post(client, "gw-e1", batch_bytes("gw-e1", [telemetry(1)], epoch=2), h)
    assert status == 409 and err["error"]["field"] == "epoch"  # type: ignore[index]
    # Over the batch limit (256 KiB in these tests) as sent, or once inflated: 413.
    big = batch_bytes("gw-e1", [telemetry(s, detector="D" + "x" * 60) for s in range(1, 1500)])
    assert len(big) > 256 * 1024
    assert post(client, "gw-e1", big, h)[0] == 413
    bomb = gzip.compress(big)
    assert len(bomb) < 64 * 1024  # under the API's general limit: only the inflated size gives it away
    status, err = post(client, "gw-e1", bomb, {**h, "Content-Encoding": "gzip"})
    assert status == 413 and err["error"]["code"] == "too_large"  # type: ignore[index]
    # The batch limit is the batch path's, not the API's 64 KiB.
    medium = batch_bytes("gw-e1", [telemetry(s) for s in range(1, 600)])
    assert 64 * 1024 < len(medium) < 256 * 1024
    assert post(client, "gw-e1", medium, h)[0] == 200
    assert post(client, "gw-e1", b"x" * (64 * 1024 + 1), {**JSON})[0] == 401  # not the batch path's 413
    assert stored_seqs(database, "gw-e1") == list(range(1, 600))


def test_path_gateway_id_is_validated(client: TestClient, tokens: dict[str, str]) -> None:
    status, err = post(client, "gw.e1", b"{}", auth(tokens["gw-e1"]))
    assert status == 422 and err["error"]["field"] == "path.gateway_id"  # type: ignore[index]


def test_streams_are_scoped(client: TestClient, as_user: Logins, world: World, tokens: dict[str, str]) -> None:
    client.post(url("gw-e1"), content=batch_bytes("gw-e1", [telemetry(s) for s in (1, 2, 5)]),
                headers=auth(tokens["gw-e1"]))
    r = client.get("/api/v1/gateways/gw-e1/streams", headers=as_user("mgr1"))
    assert r.status_code == 200
    assert [(s["epoch"], s["watermark"], s["gaps"], s["records"]) for s in r.json()] == [(1, 2, [[3, 4]], 3)]
    assert client.get("/api/v1/gateways/gw-e1/streams").status_code == 401
    for name in ("mgr2", "sup2"):
        assert client.get("/api/v1/gateways/gw-e1/streams", headers=as_user(name)).status_code == 404
    assert client.get("/api/v1/gateways/gw-e1/streams", headers=as_user("sup1")).status_code == 200


def test_the_batch_size_limit_applies_to_exactly_the_gateway_ids_the_protocol_allows() -> None:
    pattern = re.compile(BATCHES_PATH_PATTERN)
    for gateway in ("gw-0001", "G", "a" * 64, "gw_1-x", "a" * 65, "-gw", "gw.1", "gw/1", ""):
        served = pattern.fullmatch(f"/api/v1/gateways/{gateway}/batches") is not None
        assert served == (GATEWAY_ID_RE.match(gateway) is not None), gateway
