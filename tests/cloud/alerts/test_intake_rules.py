"""Rules fed by ingested records, on SQLite and PostgreSQL: N refused unlocks at one padlock within M minutes
raise one alert (by when they happened, so a burst reported late counts too); readings from a detector id the
registry does not know are stored, flagged and alerted on, and the alert resolves once it is registered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cloud.alerts.intake import UNKNOWN_DETECTOR_FLAG
from cloud.alerts.models import Alert, AlertKind, AlertState
from cloud.alerts.rules import evaluate
from cloud.alerts.settings import AlertSettings
from cloud.db.engine import Database
from cloud.ingest.service import Sender, ingest_batch
from cloud.registry.models import ConfinedSpace
from cloud.telemetry.models import LatestReading, Reading
from cloud.telemetry.sink import SqlSink
from fwsim.stage.world import World
from protocols.uplink.fields import b64url_encode
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import T0_MS, batch, telemetry

RULES = AlertSettings(refused_unlocks=3, refused_unlocks_window_s=600)
LOCK = "a1b2c3d4e5f60718"


def ingest(database: Database, world: World, records: list[dict[str, Any]], now: datetime) -> None:
    with database.session(write=True) as db:
        ingest_batch(db, sender=Sender("gw-e1", world["E1"]), envelope=batch("gw-e1", records), sink=SqlSink(),
                     now=now, alerts=RULES)
        db.commit()


def lock_event(seq: int, event: str, *, at_s: int, lock: str = LOCK) -> dict[str, Any]:
    return {"seq": seq, "kind": "lock_audit", "at_ms": T0_MS + at_s * 1000, "body": {
        "lock_id": lock, "lock_seq": seq, "event": event, "lock_time_s": T0_MS // 1000 + at_s,
        "entry": b64url_encode(b"signed-entry-%d" % seq), "chain_ok": True}}


def alerts(database: Database, kind: AlertKind) -> list[Alert]:
    with database.session(write=False) as db:
        return list(db.execute(select(Alert).where(Alert.kind == kind).order_by(Alert.id)).scalars())


def test_refused_unlocks_at_one_padlock_within_the_window_raise_one_alert(
        database: Database, world: World, tokens: dict[str, str], clock: Clock) -> None:
    # Two refusals, then one 11 minutes later: never three within 10 minutes.
    ingest(database, world, [lock_event(1, "unlock_refused", at_s=0), lock_event(2, "unlock_refused", at_s=60)],
           clock.now)
    ingest(database, world, [lock_event(3, "unlock_refused", at_s=60 + 660)], clock.now)
    # Other events and another lock's refusals do not count.
    ingest(database, world, [lock_event(4, "opened", at_s=700), lock_event(5, "closed", at_s=710),
                             lock_event(6, "unlock_refused", at_s=715, lock="0000000000000001")], clock.now)
    assert alerts(database, AlertKind.REFUSED_UNLOCKS) == []
    # A third refusal within 10 minutes of the previous two — arriving in separate, late batches.
    ingest(database, world, [lock_event(7, "unlock_refused", at_s=800)], clock.now)
    ingest(database, world, [lock_event(8, "unlock_refused", at_s=900)], clock.now)
    raised = alerts(database, AlertKind.REFUSED_UNLOCKS)
    assert len(raised) == 1 and raised[0].state is AlertState.RAISED and raised[0].gateway_id == "gw-e1"
    assert raised[0].data["lock_id"] == LOCK and raised[0].data["refused"] == 3
    ingest(database, world, [lock_event(9, "unlock_refused", at_s=950)], clock.now)  # still the same alert
    assert len(alerts(database, AlertKind.REFUSED_UNLOCKS)) == 1


def test_readings_of_an_unknown_detector_are_stored_flagged_and_alerted_until_registered(
        database: Database, world: World, tokens: dict[str, str], clock: Clock) -> None:
    ingest(database, world, [telemetry(1), telemetry(2, detector="GD-ROGUE"), telemetry(3, detector="GD-ROGUE")],
           clock.now)
    with database.session(write=False) as db:
        rows = db.execute(select(Reading.detector_id, Reading.flags)).all()
        latest = db.execute(select(LatestReading.detector_id, LatestReading.flags)).all()
    assert sorted(d for d, _ in rows) == ["GD-ROGUE"] * 4 + ["GD-SP1"] * 2  # stored, none dropped
    assert all((UNKNOWN_DETECTOR_FLAG in (f or [])) == (d == "GD-ROGUE") for d, f in rows)
    assert all((UNKNOWN_DETECTOR_FLAG in (f or [])) == (d == "GD-ROGUE") for d, f in latest)
    raised = alerts(database, AlertKind.UNKNOWN_DETECTOR)
    assert [(a.detector_id, a.state) for a in raised] == [("GD-ROGUE", AlertState.RAISED)]
    ingest(database, world, [telemetry(4, detector="GD-ROGUE")], clock.now)
    assert len(alerts(database, AlertKind.UNKNOWN_DETECTOR)) == 1  # one open alert per detector
    with database.session(write=True) as db:  # the enterprise registers it in the space's detector list
        space = db.get(ConfinedSpace, world["SP1"])
        assert space is not None
        space.detector_ids = [*space.detector_ids, "GD-ROGUE"]
        db.commit()
    with database.session(write=True) as db:
        evaluate(db, now=clock.now + timedelta(seconds=5), settings=RULES)
        db.commit()
    assert [a.state for a in alerts(database, AlertKind.UNKNOWN_DETECTOR)] == [AlertState.RESOLVED]
    ingest(database, world, [telemetry(5, detector="GD-ROGUE")], clock.now)
    with database.session(write=False) as db:
        flags = db.execute(select(Reading.flags).where(Reading.seq == 5)).scalars().all()
    assert flags and all(UNKNOWN_DETECTOR_FLAG not in (f or []) for f in flags)
    assert len(alerts(database, AlertKind.UNKNOWN_DETECTOR)) == 1
