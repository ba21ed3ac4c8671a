"""The downlink publisher worker: publishes queued commands on MQTT, in counter order per gateway.

Several publishers may run side by side. Each takes a gateway by locking its down-channel counter row
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises them anyway), which also waits out a
transaction still queueing a command for it, so a gateway never receives counter n+1 before n.
A command is marked published only after the broker's PUBACK; a crash in between means it is published
again, which the gateway refuses harmlessly as ``replayed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.db.engine import Database
from cloud.downlink.models import Counter, DownlinkCommand
from cloud.downlink.mqtt import MqttPublisher
from cloud.downlink.service import counter_name, purge_expired
from protocols.commands import DOWN_CHANNEL

BATCH = 200


def _gateways_with_pending(db: Session, *, now: datetime) -> list[str]:
    return list(db.execute(select(DownlinkCommand.gateway_id).where(DownlinkCommand.published_at.is_(None),
                                                                    DownlinkCommand.expires_at > now)
                           .distinct().order_by(DownlinkCommand.gateway_id)).scalars())


def _publish_gateway(db: Session, publisher: MqttPublisher, *, gateway_id: str, now: datetime) -> int:
    held = db.execute(select(Counter.name).where(Counter.name == counter_name(gateway_id, DOWN_CHANNEL))
                      .with_for_update(skip_locked=True)).scalar_one_or_none()
    if held is None:  # another publisher (or a queueing transaction) has this gateway now
        return 0
    rows = db.execute(select(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway_id,
                                                    DownlinkCommand.channel == DOWN_CHANNEL,
                                                    DownlinkCommand.published_at.is_(None),
                                                    DownlinkCommand.expires_at > now)
                      .order_by(DownlinkCommand.counter).limit(BATCH)).scalars().all()
    for row in rows:
        publisher.publish(gateway_id, row.signed.encode("ascii"))
        row.published_at = now
        db.flush()
    return len(rows)


def publish_pending(database: Database, publisher: MqttPublisher, *, now: datetime) -> int:
    """Publish every pending command once (each gateway in its own transaction); returns how many."""
    with database.session(write=False) as db:
        gateway_ids = _gateways_with_pending(db, now=now)
    published = 0
    for gateway_id in gateway_ids:
        with database.session(write=True) as db:
            published += _publish_gateway(db, publisher, gateway_id=gateway_id, now=now)
            db.commit()
    with database.session(write=True) as db:
        purge_expired(db, now=now)
        db.commit()
    return published


def run_forever(database: Database, publisher: MqttPublisher, *, clock: Callable[[], datetime],
                interval_s: float, stop: Callable[[], bool] = lambda: False) -> None:
    """Poll the queue every ``interval_s`` until ``stop()``."""
    while not stop():
        publish_pending(database, publisher, now=clock())
        time.sleep(interval_s)
