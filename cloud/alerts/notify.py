"""Delivering alert events: a JSON POST to each configured webhook and a message on the alerts MQTT topic.

Alert events are the outbox: written in the transaction that raised or moved the alert, delivered after the
commit by the rules worker holding the lease (``cloud.alerts.worker``), marked delivered when every channel
took them. Delivery is at least
once (a crash between sending and marking sends again): receivers deduplicate by ``event_id``.

On PostgreSQL a worker locks the events it delivers (``FOR UPDATE SKIP LOCKED``), so workers share the work;
on SQLite it reads them, sends, then marks them, never holding the one write lock while waiting on a network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.alerts.models import Alert, AlertEvent
from cloud.alerts.schemas import AlertOut
from cloud.alerts.settings import AlertSettings
from cloud.db.engine import Database
from cloud.registry.models import Enterprise

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-SafeGrid-Signature"
BATCH = 100
Publish = Callable[[str, bytes], None]


def event_payload(event: AlertEvent, alert: Alert) -> bytes:
    payload = {"event_id": event.id, "event": event.event, "at": event.at.isoformat(), "actor": event.actor}
    # ack_refused: the gateway's code and why; cleared: what it means
    payload |= {k: v for k, v in (("code", event.code), ("detail", event.detail)) if v is not None}
    return json.dumps({**payload, "alert": AlertOut.model_validate(alert).model_dump(mode="json")},
                      ensure_ascii=False, separators=(",", ":")).encode()


def alert_topic(prefix: str, district_id: int, enterprise_id: int) -> str:
    """Subscribers pick a district with ``PREFIX/{district}/+`` or everything with ``PREFIX/#``."""
    return f"{prefix}/{district_id}/{enterprise_id}"


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, settings: AlertSettings, *, publish: Publish | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._publish = publish if settings.mqtt_notify else None
        self._secrets = [Path(w.secret_file).read_bytes().strip() if w.secret_file else None
                         for w in settings.webhooks]
        self._http = httpx.Client(transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def _send(self, payload: bytes, topic: str) -> bool:
        ok = True
        for hook, secret in zip(self.settings.webhooks, self._secrets, strict=True):
            headers = {"Content-Type": "application/json"}
            if secret:
                headers[SIGNATURE_HEADER] = signature(secret, payload)
            try:
                response = self._http.post(hook.url, content=payload, headers=headers, timeout=hook.timeout_s)
                if response.status_code >= 300:
                    raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request,
                                                response=response)
            except httpx.HTTPError as exc:
                log.warning("alert_webhook_failed", url=hook.url, error=str(exc))
                ok = False
        if self._publish is not None:
            try:
                self._publish(topic, payload)
            except Exception as exc:  # the publisher's own errors vary by transport; all mean "not sent"
                log.warning("alert_mqtt_publish_failed", topic=topic, error=str(exc))
                ok = False
        return ok

    def _pending(self, db: Session, *, lock: bool) -> Sequence[tuple[AlertEvent, Alert, int]]:
        stmt = (select(AlertEvent, Alert, Enterprise.district_id).join(Alert, AlertEvent.alert_id == Alert.id)
                .join(Enterprise, Alert.enterprise_id == Enterprise.id)
                .where(AlertEvent.delivered.is_(False)).order_by(AlertEvent.id).limit(BATCH))
        if lock:
            stmt = stmt.with_for_update(of=AlertEvent, skip_locked=True)
        return [(e, a, d) for e, a, d in db.execute(stmt).all()]

    def _deliver(self, rows: Sequence[tuple[AlertEvent, Alert, int]],
                 deadline: float | None = None) -> tuple[list[int], list[int]]:
        done, failed = [], []
        for event, alert, district_id in rows:
            if deadline is not None and time.monotonic() > deadline:
                break  # the rest stay pending for the next run (the caller's lease may be running out)
            topic = alert_topic(self.settings.mqtt_topic_prefix, district_id, alert.enterprise_id)
            if self._send(event_payload(event, alert), topic):
                done.append(event.id)
            elif event.attempts + 1 >= self.settings.max_delivery_attempts:
                log.error("alert_event_undeliverable", event_id=event.id, attempts=event.attempts + 1)
                done.append(event.id)  # given up: the feed still has it
            else:
                failed.append(event.id)
        return done, failed

    @staticmethod
    def _mark(db: Session, done: list[int], failed: list[int]) -> None:
        if done:
            db.execute(update(AlertEvent).where(AlertEvent.id.in_(done)).values(delivered=True,
                                                                               attempts=AlertEvent.attempts + 1))
        if failed:
            db.execute(update(AlertEvent).where(AlertEvent.id.in_(failed)).values(attempts=AlertEvent.attempts + 1))

    def deliver_pending(self, database: Database, *, deadline: float | None = None) -> int:
        """Deliver undelivered events (a batch; none started after ``deadline``, a ``time.monotonic()`` value);
        returns how many were completed."""
        if database.engine.dialect.name == "postgresql":
            with database.session(write=True) as db:
                done, failed = self._deliver(self._pending(db, lock=True), deadline)
                self._mark(db, done, failed)
                db.commit()
            return len(done)
        with database.session(write=False) as db:
            rows = self._pending(db, lock=False)
        done, failed = self._deliver(rows, deadline)
        with database.session(write=True) as db:
            self._mark(db, done, failed)
            db.commit()
        return len(done)

