"""The rules and notification worker: evaluates the periodic alert rules (gateway offline, open session without
gas data, detectors registered since they were flagged), escalates hazards past their rectification deadline
(``cloud.hazards.service.escalate_overdue``), delivers pending alert notifications (webhooks, MQTT)
and sweeps expired login failures — exactly once across however many processes run it.

Every deployment runs it, whichever door its gateways use: ``safegrid-cloud serve`` starts one beside the API
(a thread of the serving process, ``alerts.worker_in_serve``); at scale ``safegrid-cloud rules-worker`` runs
on its own and ``serve`` runs with ``--no-rules-worker``. Any number may run: before each run a worker takes
the database lease ``alert-rules`` (``cloud.db.lease``) and only the holder works; the others stand by and take
over once the holder has stopped renewing it for ``alerts.lease_s``.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import structlog

from cloud.alerts.notify import Notifier, Publish
from cloud.alerts.rules import evaluate
from cloud.auth.service import sweep_login_attempts
from cloud.db.engine import Database
from cloud.db.lease import release_lease, take_lease
from cloud.hazards.service import escalate_overdue
from cloud.settings import CloudSettings

log = structlog.get_logger(__name__)

LEASE = "alert-rules"
Clock = Callable[[], datetime]


def default_holder() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class RulesWorker:
    def __init__(self, database: Database, settings: CloudSettings, *, clock: Clock, publish: Publish | None = None,
                 notifier: Notifier | None = None, holder: str | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.notifier = notifier or Notifier(settings.alerts, publish=publish)
        self.holder = holder or default_holder()
        self.lease = timedelta(seconds=max(settings.alerts.lease_s, 2 * settings.alerts.rules_interval_s))
        self.runs = 0  # runs done while holding the lease (diagnostics, tests)
        self.holding = False

    def run_once(self) -> bool:
        """One run if this worker holds (or now takes) the lease; False when another worker holds it."""
        now = self.clock()
        started = time.monotonic()
        with self.database.session(write=True) as db:
            holding = take_lease(db, name=LEASE, holder=self.holder, now=now, ttl=self.lease)
            if not holding:
                db.commit()
                if self.holding:
                    log.warning("rules_worker_lease_lost", holder=self.holder)
                self.holding = False
                return False
            run = evaluate(db, now=now, settings=self.settings.alerts)
            swept = sweep_login_attempts(db, now=now, settings=self.settings.auth)
            escalated = escalate_overdue(db, now=now,
                                         grace=timedelta(seconds=self.settings.hazards.escalate_after_s))
            db.commit()
        if not self.holding:
            log.info("rules_worker_lease_taken", holder=self.holder)
        self.holding = True
        # Deliver while the lease surely holds: stop starting deliveries at half of it (the rest wait a run).
        delivered = self.notifier.deliver_pending(self.database,
                                                  deadline=started + self.lease.total_seconds() / 2)
        self.runs += 1
        if run.raised or run.resolved or delivered or swept or escalated:
            log.info("rules_worker_run", raised=len(run.raised), resolved=len(run.resolved), delivered=delivered,
                     login_failures_swept=swept, hazards_escalated=len(escalated))
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # a database hiccup or a bad webhook must not end the worker: next run
                log.exception("rules_worker_run_failed", error=str(exc))
            stop.wait(self.settings.alerts.rules_interval_s)

    def close(self) -> None:
        """Give the lease up (another worker takes over at once) and release the notifier."""
        try:
            if self.holding:
                with self.database.session(write=True) as db:
                    release_lease(db, name=LEASE, holder=self.holder)
                    db.commit()
        except Exception as exc:  # stopping anyway: the lease then just expires
            log.warning("rules_worker_release_failed", error=str(exc))
        finally:
            self.notifier.close()


class MqttPublisher:
    """Publishes alert events on the broker of ``[ingest.mqtt]`` (only when ``alerts.mqtt_notify``)."""

    def __init__(self, settings: CloudSettings, *, client_id: str) -> None:
        from paho.mqtt.enums import MQTTErrorCode

        from cloud.broker import broker_client
        from protocols import topics

        self._ok = MQTTErrorCode.MQTT_ERR_SUCCESS
        self._qos = topics.QOS
        mqtt = settings.ingest.mqtt
        self._client = broker_client(mqtt, client_id=client_id)
        self._client.connect_async(mqtt.host, mqtt.port, keepalive=mqtt.keepalive_s)
        self._client.reconnect_delay_set(1, 30)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=self._qos)
        if info.rc != self._ok:  # not connected: the event stays pending and is tried again
            raise ConnectionError(f"MQTT publish failed: {info.rc}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def run_worker(settings: CloudSettings, stop: threading.Event, *, clock: Clock) -> None:
    """Run a rules worker until ``stop`` is set, with its own database engine (and MQTT client if asked)."""
    from cloud.metadata import load_metadata

    load_metadata()  # every mapper's foreign keys resolve
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms,
                                 pool_size=2)
    holder = default_holder()
    publisher = MqttPublisher(settings, client_id=f"safegrid-rules-{holder}"[:64]) \
        if settings.alerts.mqtt_notify else None
    worker = RulesWorker(database, settings, clock=clock, publish=publisher.publish if publisher else None,
                         holder=holder)
    log.info("rules_worker_started", holder=holder, interval_s=settings.alerts.rules_interval_s)
    try:
        worker.run(stop)
    finally:
        worker.close()
        if publisher is not None:
            publisher.close()
        database.dispose()
        log.info("rules_worker_stopped", holder=holder)


@contextmanager
def rules_worker_alongside(settings: CloudSettings, *, enabled: bool) -> Iterator[None]:
    """A rules worker in a thread for as long as the block runs (``serve`` wraps uvicorn in it)."""
    if not enabled:
        yield
        return
    from datetime import UTC

    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(settings, stop), kwargs={"clock": lambda: datetime.now(UTC)},
                              name="rules-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
