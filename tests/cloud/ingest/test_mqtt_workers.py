"""The MQTT door with real processes: ``safegrid-cloud ingest-mqtt`` workers on the real broker's shared
subscription, storing in SQLite or PostgreSQL, answering with signed acks only after their commit.

- two workers share one subscription: the load splits between them, nothing is lost or doubled;
- a worker SIGKILLed in the middle of a transaction: nothing half-stored; the gateway re-sends, a new worker
  stores the rest, nothing is lost or doubled.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cloud.alerts.models import Alert
from cloud.db.engine import Database
from cloud.keys.service import KeyStore
from cloud.settings import CloudSettings
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.world import World
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import add_gateway, alarm, batch_bytes, reading_count, stored_seqs, telemetry
from tests.cloud.ingest.mqtt_rig import Gateways, Worker, wait_for, write_config


def records(first: int, count: int) -> list[dict[str, Any]]:
    """Telemetry, with an alarm at every seq divisible by 100."""
    return [alarm(s, f"a{s}") if s % 100 == 0 else telemetry(s) for s in range(first, first + count)]


def batches_of(gateway: str, total: int, size: int) -> list[bytes]:
    return [batch_bytes(gateway, records(first, min(size, total - first + 1)), compress=True)
            for first in range(1, total + 1, size)]


def check_exactly_once(database: Database, gateway: str, total: int) -> None:
    assert stored_seqs(database, gateway) == list(range(1, total + 1))
    alarms = total // 100
    assert reading_count(database, gateway) == 2 * (total - alarms)
    with database.session(write=False) as db:
        assert db.execute(select(func.count()).select_from(Alert).where(Alert.gateway_id == gateway)
                          ).scalar_one() == alarms


@pytest.fixture
def worker_config(settings: CloudSettings, mosquitto: MosquittoBroker, tmp_path: Path) -> Path:
    url = settings.database_url()
    if url.startswith("postgresql"):
        url += "?application_name=safegrid-ingest-test"  # lets the test find the worker's transactions
    return write_config(tmp_path / "ingest.toml", data_dir=settings.data_dir, db_url=url, host=mosquitto.host,
                        port=mosquitto.port)


def test_two_workers_share_the_subscription(database: Database, world: World, clock: Clock, keystore: KeyStore,
                                            mosquitto: MosquittoBroker, worker_config: Path, tmp_path: Path) -> None:
    names = [f"gw-share-{i}" for i in range(4)]
    for name in names:
        add_gateway(database, gateway_id=name, enterprise_id=world["E1"], now=clock.now)
    total, size = 3000, 150
    workers = [Worker(worker_config, tmp_path / f"w{i}.log", f"ingest-w{i}") for i in range(2)]
    gateways = None
    try:
        for w in workers:
            w.wait_subscribed()
        gateways = Gateways(mosquitto.host, mosquitto.port, keystore.keyring().command_keys(now=clock.now), names)
        for i in range(total // size):  # interleaved, as real gateways would be
            for name in names:
                gateways.publish(name, batches_of(name, total, size)[i])
        wait_for(lambda: gateways.acked(dict.fromkeys(names, total)), 180, "every batch acknowledged")
    finally:
        if gateways is not None:
            gateways.close()
        stored = [w.stop() for w in workers]
    assert all(n > 0 for n in stored), f"one worker did nothing: {stored}"
    assert sum(stored) == total * len(names), stored
    for name in names:
        check_exactly_once(database, name, total)


def _in_transaction(settings: CloudSettings) -> bool:
    """Whether the worker holds an open write transaction right now (its commit has not happened)."""
    url = make_url(settings.database_url())
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return True
            raise
        finally:
            conn.close()
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                           "'safegrid-ingest-test' AND xact_start IS NOT NULL AND state <> 'idle'").fetchone()
        return bool(row and row[0])


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(database: Database, world: World, clock: Clock,
                                                             keystore: KeyStore, settings: CloudSettings,
                                                             mosquitto: MosquittoBroker, worker_config: Path,
                                                             tmp_path: Path) -> None:
    name = "gw-kill"
    add_gateway(database, gateway_id=name, enterprise_id=world["E1"], now=clock.now)
    total = 20_000
    payloads = batches_of(name, total, 2000)
    gateways = Gateways(mosquitto.host, mosquitto.port, keystore.keyring().command_keys(now=clock.now), [name])
    first = Worker(worker_config, tmp_path / "first.log", "ingest-first")
    second = None
    try:
        first.wait_subscribed()
        for payload in payloads:
            gateways.publish(name, payload)
        wait_for(lambda: _in_transaction(settings), 60, "the worker inside a transaction", poll_s=0.002)
        first.kill()
        # Whatever the dead worker committed is whole: every stored record has its readings, nothing else is.
        stored = stored_seqs(database, name)
        assert len(stored) < total
        alarms_stored = len([s for s in stored if s % 100 == 0])
        assert reading_count(database, name) == 2 * (len(stored) - alarms_stored)
        # The gateway re-sends everything it has no ack for (here: all of it, a superset); a new worker takes over.
        second = Worker(worker_config, tmp_path / "second.log", "ingest-second")
        second.wait_subscribed()
        for payload in payloads:
            gateways.publish(name, payload)
        wait_for(lambda: gateways.acked({name: total}), 180, "every batch acknowledged")
    finally:
        gateways.close()
        if first.proc.poll() is None:
            first.kill()
        if second is not None:
            second.stop()
    check_exactly_once(database, name, total)
