"""Cloud rules on SQLite and PostgreSQL: a silent gateway, an open session without gas data, a detector due for
calibration, a permit used outside its work window — raised once however often evaluated (or by however many
workers), resolved when the condition goes, raised anew when it comes back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cloud.alerts.models import Alert, AlertKind, AlertState
from cloud.alerts.rules import evaluate
from cloud.alerts.settings import AlertSettings
from cloud.db.engine import Database
from cloud.ingest.service import Sender, ingest_batch
from cloud.permits.models import Permit
from cloud.telemetry.sink import SqlSink
from cloud.wiretime import from_ms
from cloud.workers.models import Worker
from fwsim.stage.world import World
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import T0_MS, batch, session, telemetry

RULES = AlertSettings(gateway_offline_after_s=300, session_gas_silence_s=120)


def ingest(database: Database, world: World, records: list[dict[str, Any]], now: datetime) -> None:
    with database.session(write=True) as db:
        ingest_batch(db, sender=Sender("gw-e1", world["E1"]), envelope=batch("gw-e1", records), sink=SqlSink(),
                     now=now)
        db.commit()


def run_rules(database: Database, now: datetime) -> None:
    with database.session(write=True) as db:
        evaluate(db, now=now, settings=RULES)
        db.commit()


def alerts(database: Database, kind: AlertKind) -> list[tuple[AlertState, str | None]]:
    with database.session(write=False) as db:
        return [(a.state, a.resolved_by) for a in db.execute(select(Alert).where(Alert.kind == kind)
                                                             .order_by(Alert.id)).scalars()]


def test_a_silent_gateway_raises_once_and_resolves_when_heard(database: Database, world: World,
                                                              tokens: dict[str, str], clock: Clock) -> None:
    ingest(database, world, [telemetry(1)], clock.now)
    run_rules(database, clock.now + timedelta(seconds=299))
    assert alerts(database, AlertKind.GATEWAY_OFFLINE) == []
    later = clock.now + timedelta(seconds=301)
    run_rules(database, later)
    run_rules(database, later + timedelta(seconds=30))  # evaluated again (another worker): still one alert
    assert alerts(database, AlertKind.GATEWAY_OFFLINE) == [(AlertState.RAISED, None)]
    with database.session(write=False) as db:
        alert = db.execute(select(Alert).where(Alert.kind == AlertKind.GATEWAY_OFFLINE)).scalar_one()
        assert (alert.gateway_id, alert.enterprise_id) == ("gw-e1", world["E1"])
    # gw-e2 never sent anything: never seen, never "offline".
    ingest(database, world, [telemetry(2)], later + timedelta(seconds=40))
    run_rules(database, later + timedelta(seconds=41))
    assert alerts(database, AlertKind.GATEWAY_OFFLINE) == [(AlertState.RESOLVED, "system")]
    run_rules(database, later + timedelta(seconds=400))  # silent again: a new alert
    assert [s for s, _ in alerts(database, AlertKind.GATEWAY_OFFLINE)] == [AlertState.RESOLVED, AlertState.RAISED]


def test_an_open_session_without_gas_data(database: Database, world: World, tokens: dict[str, str],
                                          clock: Clock) -> None:
    t0 = from_ms(T0_MS)
    ingest(database, world, [session(1, "s1", "in_work", at_ms=T0_MS), telemetry(2, at_ms=T0_MS)], t0)
    run_rules(database, t0 + timedelta(seconds=100))
    assert alerts(database, AlertKind.SESSION_WITHOUT_GAS) == []
    run_rules(database, t0 + timedelta(seconds=130))  # the last reading is 130 s old
    run_rules(database, t0 + timedelta(seconds=140))
    assert alerts(database, AlertKind.SESSION_WITHOUT_GAS) == [(AlertState.RAISED, None)]
    with database.session(write=False) as db:
        alert = db.execute(select(Alert).where(Alert.kind == AlertKind.SESSION_WITHOUT_GAS)).scalar_one()
        assert (alert.session_id, alert.space_id, alert.level) == ("s1", world["SP1"], 2)
        assert alert.rescue_card is not None
    ingest(database, world, [telemetry(3, at_ms=T0_MS + 145_000)], t0 + timedelta(seconds=146))
    run_rules(database, t0 + timedelta(seconds=150))
    assert alerts(database, AlertKind.SESSION_WITHOUT_GAS) == [(AlertState.RESOLVED, "system")]
    # A closed session needs no gas data.
    ingest(database, world, [session(4, "s1", "closed", at_ms=T0_MS + 150_000)], t0 + timedelta(seconds=151))
    run_rules(database, t0 + timedelta(seconds=900))
    assert len(alerts(database, AlertKind.SESSION_WITHOUT_GAS)) == 1


def test_a_reading_with_no_value_is_no_gas_data(database: Database, world: World, tokens: dict[str, str],
                                                clock: Clock) -> None:
    t0 = from_ms(T0_MS)
    dead = telemetry(2, at_ms=T0_MS + 100_000)
    for gas in dead["body"]["gases"]:
        gas["value"] = None
    ingest(database, world, [session(1, "s1", "in_work", at_ms=T0_MS), dead], t0)
    run_rules(database, t0 + timedelta(seconds=130))
    assert alerts(database, AlertKind.SESSION_WITHOUT_GAS) == [(AlertState.RAISED, None)]


def test_calibration_due_comes_and_goes_with_the_detector_flag(database: Database, world: World,
                                                               tokens: dict[str, str], clock: Clock) -> None:
    ingest(database, world, [telemetry(1, flags=["calibration_due"]), telemetry(2, flags=["calibration_due"])],
           clock.now)
    ingest(database, world, [telemetry(3, flags=["calibration_due"])], clock.now)
    assert alerts(database, AlertKind.CALIBRATION_OVERDUE) == [(AlertState.RAISED, None)]
    ingest(database, world, [telemetry(4)], clock.now)
    assert alerts(database, AlertKind.CALIBRATION_OVERDUE) == [(AlertState.RESOLVED, "gateway:gw-e1")]


def _permit(database: Database, world: World, now: datetime) -> str:
    with database.session(write=True) as db:
        attendant = Worker(uid="ab" * 16, enterprise_id=world["E1"], name="监护人", certificates=[], active=True,
                           created_at=now, updated_at=now)
        db.add(attendant)
        db.flush()
        permit = Permit(uid="cd" * 16, enterprise_id=world["E1"], space_id=world["SP1"], kind="operation",
                        status="approved", high_risk=False, work_start=now, work_end=now + timedelta(hours=2),
                        max_continuous_minutes=60, entrant_limit=2, gas_test_required=True,
                        ventilation_required=False, attendant_id=attendant.id, entrant_ids=[],
                        required_certificates=[], risk_identification=[], isolation=[], ventilation="", ppe=[],
                        rescue_plan="", created_at=now, updated_at=now)
        db.add(permit)
        db.commit()
        return permit.uid


def test_a_permit_used_outside_its_window(database: Database, world: World, tokens: dict[str, str],
                                          clock: Clock) -> None:
    uid = _permit(database, world, from_ms(T0_MS))
    inside = T0_MS + 3600_000
    ingest(database, world, [session(1, "s1", "in_work", permit=uid, at_ms=inside)], clock.now)
    assert alerts(database, AlertKind.PERMIT_OUTSIDE_WINDOW) == []
    after = T0_MS + 3 * 3600_000
    ingest(database, world, [session(2, "s2", "authorized", permit=uid, at_ms=after),
                             session(3, "s2", "in_work", permit=uid, at_ms=after + 1000)], clock.now)
    ingest(database, world, [session(4, "s2", "closed", permit=uid, at_ms=after + 5000)], clock.now)
    assert alerts(database, AlertKind.PERMIT_OUTSIDE_WINDOW) == [(AlertState.RAISED, None)]
    with database.session(write=False) as db:
        alert = db.execute(select(Alert).where(Alert.kind == AlertKind.PERMIT_OUTSIDE_WINDOW)).scalar_one()
        assert (alert.session_id, alert.permit_id, alert.data["state"]) == ("s2", uid, "authorized")
        assert "after" in alert.title
