"""Hazards through the API on both databases: report, dispatch, rectify with evidence, verify, close; the modes;
refusals naming their rule or field; photos by content; public reports' private contact; escalation on timeout."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloud.alerts.worker import RulesWorker
from cloud.db.engine import Database
from cloud.hazards.models import Hazard, HazardEvent, HazardPhoto
from cloud.hazards.service import escalate_overdue
from cloud.settings import CloudSettings
from fwsim.stage.world import PASSWORD, World
from tests.cloud.conftest import Clock, Logins

API = "/api/v1"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 60


def upload(client: TestClient, headers: dict[str, str], data: bytes, kind: str = "image/jpeg") -> Any:
    return client.post(f"{API}/hazard-photos", content=data, headers={**headers, "Content-Type": kind})


def report(client: TestClient, headers: dict[str, str], world: World, clock: Clock, **kw: Any) -> Any:
    body = {"enterprise_id": world["E1"], "source": "grid_patrol", "description": "入口未设警示标识",
            "severity": "general", **kw}
    return client.post(f"{API}/hazards", json=body, headers=headers)


def step(client: TestClient, headers: dict[str, str], hazard_id: int, **body: Any) -> Any:
    return client.post(f"{API}/hazards/{hazard_id}/steps", json=body, headers=headers)


def assign_body(clock: Clock) -> dict[str, Any]:
    return {"step": "assign", "assignee": "街道应急办", "deadline": (clock.now + timedelta(days=3)).isoformat()}


def test_combined_mode_the_finder_takes_it_from_report_to_closure(client: TestClient, as_user: Logins,
                                                                  world: World, clock: Clock) -> None:
    officer, mgr = as_user("officer1"), as_user("mgr1")
    photo = upload(client, officer, JPEG)
    assert photo.status_code == 201, photo.text
    assert photo.json()["sha256"] == hashlib.sha256(JPEG).hexdigest()
    r = report(client, officer, world, clock, photos=[photo.json()["sha256"]])
    assert r.status_code == 201, r.text
    hazard = r.json()
    assert (hazard["state"], hazard["mode"], hazard["level"]) == ("reported", "combined", "grid")
    assert not hazard["flagged_for_enforcement"]
    hid = hazard["id"]
    clock.advance(60)
    assert step(client, officer, hid, **assign_body(clock)).json()["state"] == "assigned"
    clock.advance(60)
    assert step(client, mgr, hid, step="start").json()["state"] == "rectifying"
    refused = step(client, mgr, hid, step="rectify", note="已整改")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "rectified_without_evidence")
    assert refused.json()["error"]["field"] == "evidence_photos"
    evidence = upload(client, mgr, PNG).json()["sha256"]
    assert step(client, mgr, hid, step="rectify", evidence_photos=[evidence]).json()["state"] == "rectified"
    mine = step(client, mgr, hid, step="verify")
    assert (mine.status_code, mine.json()["error"]["code"]) == (409, "not_your_step")
    early = step(client, officer, hid, step="close")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "closed_without_verification")
    assert step(client, officer, hid, step="verify").json()["state"] == "verified"
    closed = step(client, officer, hid, step="close").json()
    assert closed["state"] == "closed" and closed["evidence_photos"] == [evidence]
    trace = client.get(f"{API}/hazards/{hid}/events", headers=mgr).json()
    assert [(e["step"], e["from_state"], e["to_state"]) for e in trace] == [
        ("report", None, "reported"), ("assign", "reported", "assigned"), ("start", "assigned", "rectifying"),
        ("rectify", "rectifying", "rectified"), ("verify", "rectified", "verified"), ("close", "verified", "closed")]
    assert trace[1]["by_name"] == "officer1"


def test_closing_without_verification_and_a_deadline_before_the_report_are_refused(
        client: TestClient, as_user: Logins, world: World, clock: Clock, database: Database) -> None:
    sup = as_user("sup1")
    past = report(client, sup, world, clock, deadline=(clock.now - timedelta(hours=1)).isoformat())
    assert (past.status_code, past.json()["error"]["code"], past.json()["error"]["field"]) == (
        422, "deadline_before_report", "deadline")
    hid = report(client, sup, world, clock).json()["id"]
    r = step(client, sup, hid, step="close")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "closed_without_verification")
    with database.session(write=False) as db:
        assert db.get(Hazard, hid).state == "reported"  # type: ignore[union-attr]
        assert db.scalar(select(func.count()).select_from(Hazard)) == 1


def test_separated_mode_the_finder_hands_over(client: TestClient, as_user: Logins, world: World,
                                              clock: Clock) -> None:
    admin, sup = as_user("admin"), as_user("sup1")
    r = client.post(f"{API}/users", headers=admin, json={
        "username": "officer1b", "display_name": "办理人", "password": PASSWORD, "role": "grid_officer",
        "scope": {"kind": "grid", "id": world["G1"]}})
    assert r.status_code == 201, r.text
    denied = client.put(f"{API}/grids/{world['G1']}/hazard-mode", json={"mode": "separated"},
                        headers=as_user("officer1"))
    assert denied.status_code == 403
    assert client.put(f"{API}/grids/{world['G1']}/hazard-mode", json={"mode": "separated"},
                      headers=sup).json()["mode"] == "separated"
    hid = report(client, as_user("officer1"), world, clock).json()["id"]
    assert client.get(f"{API}/hazards/{hid}", headers=sup).json()["mode"] == "separated"
    mine = step(client, as_user("officer1"), hid, **assign_body(clock))
    assert (mine.status_code, mine.json()["error"]["code"]) == (409, "separated_mode_hand_over")
    assert step(client, as_user("officer1b"), hid, **assign_body(clock)).json()["state"] == "assigned"


def test_photos_are_stored_once_and_only_images_within_the_limit(client: TestClient, as_user: Logins,
                                                                 world: World, clock: Clock, database: Database,
                                                                 settings: CloudSettings) -> None:
    mgr = as_user("mgr1")
    first, again = upload(client, mgr, JPEG), upload(client, mgr, JPEG)
    assert first.json() == again.json() and first.json()["media_type"] == "image/jpeg"
    digest = first.json()["sha256"]
    assert (settings.data_dir / settings.hazards.photos_dir / digest[:2] / digest).read_bytes() == JPEG
    text = upload(client, mgr, b"GIF89a not allowed here")
    assert (text.status_code, text.json()["error"]["field"], text.json()["error"]["code"]) == (
        422, "photo", "not_an_image")
    big = upload(client, mgr, JPEG + b"\x00" * settings.hazards.photo_max_bytes)
    assert (big.status_code, big.json()["error"]["field"]) == (413, "photo")
    with database.session(write=False) as db:
        assert db.scalar(select(func.count()).select_from(HazardPhoto)) == 1
    unknown = report(client, as_user("sup1"), world, clock, photos=[digest, "0" * 64])
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "photos.1")


def test_a_public_report_by_uscc_keeps_the_contact_for_supervisors(client: TestClient, as_user: Logins,
                                                                   world: World, clock: Clock) -> None:
    sup, officer = as_user("sup1"), as_user("officer1")
    uscc = client.get(f"{API}/enterprises/{world['E1']}", headers=sup).json()["uscc"]
    r = client.post(f"{API}/hazards", headers=officer, json={
        "uscc": uscc, "source": "public_report", "description": "群众反映：污水井无人看护作业",
        "severity": "major", "reporter_contact": "13800000000"})
    assert r.status_code == 201, r.text
    hazard = r.json()
    assert hazard["reporter_contact"] is None  # the officer who typed it in does not get it back
    assert hazard["grid_id"] == world["G1"]
    assert hazard["flagged_for_enforcement"] and hazard["flagged_for_enforcement_at"] == hazard["reported_at"]
    assert client.get(f"{API}/hazards/{hazard['id']}", headers=sup).json()["reporter_contact"] == "13800000000"
    assert client.get(f"{API}/hazards/{hazard['id']}", headers=as_user("mgr1")).json()["reporter_contact"] is None
    assert client.get(f"{API}/hazards/{hazard['id']}", headers=as_user("mgr2")).status_code == 404
    queue = client.get(f"{API}/hazards?flagged_for_enforcement=true", headers=as_user("law1")).json()
    assert [h["id"] for h in queue["items"]] == [hazard["id"]]
    outside = client.post(f"{API}/hazards", headers=officer, json={
        "uscc": client.get(f"{API}/enterprises/{world['E2']}", headers=as_user("admin")).json()["uscc"],
        "source": "public_report", "description": "x", "severity": "general"})
    assert (outside.status_code, outside.json()["error"]["field"]) == (422, "uscc")


def test_an_iot_alert_opens_a_hazard_by_its_id(client: TestClient, as_user: Logins, world: World,
                                               clock: Clock) -> None:
    r = report(client, as_user("officer1"), world, clock, source="iot_alert", alert_id=42)
    assert (r.status_code, r.json()["alert_id"], r.json()["source"]) == (201, 42, "iot_alert")
    missing = report(client, as_user("officer1"), world, clock, source="iot_alert")
    assert missing.status_code == 422


def test_timeouts_escalate_street_then_district_with_a_trace(client: TestClient, as_user: Logins, world: World,
                                                             clock: Clock, database: Database) -> None:
    sup = as_user("sup1")
    hid = report(client, sup, world, clock).json()["id"]
    assert step(client, sup, hid, step="assign", assignee="街道应急办",
                deadline=(clock.now + timedelta(hours=1)).isoformat()).json()["level"] == "street"
    grace = timedelta(minutes=30)
    clock.advance(3600 + 1200)
    with database.session(write=True) as db:
        assert escalate_overdue(db, now=clock.now, grace=grace) == []  # not yet
        clock.advance(600)
        assert escalate_overdue(db, now=clock.now, grace=grace) == [hid]
        db.commit()
    hazard = client.get(f"{API}/hazards/{hid}", headers=sup).json()
    assert (hazard["state"], hazard["level"]) == ("escalated", "district")
    with database.session(write=False) as db:
        last = db.execute(select(HazardEvent).where(HazardEvent.hazard_id == hid)
                          .order_by(HazardEvent.id.desc())).scalars().first()
        assert last is not None and (last.by_name, last.from_state, last.to_state) == (
            "system", "assigned", "escalated")
    clock.advance(60)
    again = step(client, sup, hid, step="assign", assignee="区应急管理局",
                 deadline=(clock.now + timedelta(days=2)).isoformat())
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["level"]) == ("assigned", "district")


def test_the_rules_worker_escalates_an_overdue_hazard(client: TestClient, as_user: Logins, world: World,
                                                      clock: Clock, database: Database,
                                                      settings: CloudSettings) -> None:
    sup = as_user("sup1")
    hid = report(client, sup, world, clock).json()["id"]
    step(client, sup, hid, step="assign", assignee="街道应急办", deadline=(clock.now + timedelta(hours=1)).isoformat())
    worker = RulesWorker(database, settings, clock=clock, holder="h")
    try:
        assert worker.run_once()
        assert client.get(f"{API}/hazards/{hid}", headers=sup).json()["state"] == "assigned"
        clock.advance(3600)  # escalate_after_s defaults to 0: at the deadline
        assert worker.run_once()
        assert client.get(f"{API}/hazards/{hid}", headers=sup).json()["state"] == "escalated"
    finally:
        worker.close()
