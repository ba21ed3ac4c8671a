"""The rules and notification worker: exactly one of several workers on one database works at a time (a lease
in the database), another takes over when it stops or dies, and each alert event reaches the webhook once —
on SQLite and PostgreSQL, in one process and as two `safegrid-cloud rules-worker` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from cloud.alerts.models import AlertEvent
from cloud.alerts.settings import AlertSettings, WebhookSettings
from cloud.alerts.worker import RulesWorker
from cloud.db.engine import Database
from cloud.devices.models import Gateway
from cloud.settings import CloudSettings
from fwsim.stage.world import World
from tests.cloud.alerts.test_notify import raise_alarm, webhook  # noqa: F401 (the webhook fixture)
from tests.cloud.conftest import Clock
from tests.cloud.test_cli import cloud_exe


def _settings(settings: CloudSettings, hook: ThreadingHTTPServer | None = None) -> CloudSettings:
    hooks = [WebhookSettings(url=f"http://{hook.server_address[0]}:{hook.server_address[1]}/h")] if hook else []
    alerts = AlertSettings(rules_interval_s=0.01, lease_s=30, webhooks=hooks)
    return settings.model_copy(update={"alerts": alerts})


def test_one_worker_holds_the_lease_and_another_takes_over(database: Database, world: World,
                                                            settings: CloudSettings, clock: Clock,
                                                            tokens: dict[str, str]) -> None:
    cfg = _settings(settings)
    a = RulesWorker(database, cfg, clock=clock, holder="a")
    b = RulesWorker(database, cfg, clock=clock, holder="b")
    assert a.run_once() and not b.run_once() and a.run_once() and not b.run_once()
    clock.advance(29)
    assert not b.run_once()  # a renewed at each run: still its lease
    clock.advance(31)  # a died (no renewal) and its lease ran out
    assert b.run_once() and not a.run_once()
    b.close()  # a clean stop gives the lease up at once
    assert a.run_once()
    a.close()


def test_two_workers_at_once_deliver_each_event_once_and_raise_each_rule_alert_once(
        database: Database, world: World, settings: CloudSettings, clock: Clock, tokens: dict[str, str],
        webhook: ThreadingHTTPServer) -> None:  # noqa: F811
    for seq in range(1, 6):
        raise_alarm(database, world, clock.now, seq, f"a{seq}")  # five alarm alerts: five "raised" events
    with database.session(write=True) as db:  # and a gateway gone silent: the offline rule raises one more
        gateway = db.get(Gateway, "gw-e1")
        assert gateway is not None
        gateway.last_seen_at = clock.now - timedelta(hours=1)
        db.commit()
    cfg = _settings(settings, webhook)
    workers = [RulesWorker(database, cfg, clock=clock, holder=name) for name in ("a", "b")]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(webhook.received) < 6 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        time.sleep(0.3)  # both keep running: nothing more may arrive
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        for w in workers:
            w.close()
    received = [body for _headers, body in webhook.received]  # type: ignore[attr-defined]
    assert len(received) == len(set(received)) == 6
    assert sorted(w.runs > 0 for w in workers) in ([False, True], [True, True])
    with database.session(write=False) as db:
        assert db.execute(select(func.count()).select_from(AlertEvent)
                          .where(AlertEvent.delivered.is_(False))).scalar_one() == 0
    assert sum(b'"kind":"gateway_offline"' in body for body in received) == 1


def _rules_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    with log.open("ab") as out:
        return subprocess.Popen([cloud_exe(), "--json-logs", "rules-worker", "--config", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=out)


def _events(hook: ThreadingHTTPServer) -> list[tuple[int, str]]:
    """(event id, alert kind) of each POST received."""
    return [(body["event_id"], body["alert"]["kind"])
            for body in (json.loads(raw) for _headers, raw in hook.received)]  # type: ignore[attr-defined]


def _wait_for_alarms(count: int, hook: ThreadingHTTPServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(kind == "alarm" for _id, kind in _events(hook)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_two_worker_processes_notify_once_and_the_survivor_takes_over(
        database: Database, world: World, settings: CloudSettings, clock: Clock, tokens: dict[str, str],
        webhook: ThreadingHTTPServer, tmp_path: Path) -> None:  # noqa: F811
    host, port = webhook.server_address[:2]
    config = tmp_path / "cloud.toml"
    config.write_text(f'[database]\nurl = "{settings.database_url()}"\n'
                      f'[alerts]\nrules_interval_s = 0.1\nlease_s = 5\n'
                      f'[[alerts.webhooks]]\nurl = "http://{host}:{port}/hook"\n')
    for seq in range(1, 4):  # (the workers run on the real clock: gw-e1, seen at the tests' clock, is offline)
        raise_alarm(database, world, clock.now, seq, f"a{seq}")
    logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
    procs = [_rules_worker(config, log) for log in logs]
    try:
        _wait_for_alarms(3, webhook, 30)
        time.sleep(0.5)  # many more runs of both: nothing twice
        assert sorted(kind for _id, kind in _events(webhook)) == ["alarm"] * 3 + ["gateway_offline"]
        holders = [p for p, log in zip(procs, logs, strict=True) if "rules_worker_lease_taken" in log.read_text()]
        assert len(holders) == 1
        holders[0].kill()  # dies without giving the lease up: the other waits it out (lease_s), then works
        raise_alarm(database, world, clock.now, 4, "a4")
        _wait_for_alarms(4, webhook, 30)
        time.sleep(0.5)
        assert sorted(kind for _id, kind in _events(webhook)) == ["alarm"] * 4 + ["gateway_offline"]
        assert all("rules_worker_lease_taken" in log.read_text() for log in logs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    ids = [event_id for event_id, _kind in _events(webhook)]
    assert len(ids) == len(set(ids)) == 5
