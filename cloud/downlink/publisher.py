"""The downlink publisher worker: publishes queued commands on MQTT, in counter order per gateway, and — given a
:class:`~cloud.downlink.timesync.TimeSync` — a freshly signed ``time`` command to every gateway that is due one.

Several publishers may run side by side. Each takes a gateway by locking its down-channel counter row
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises them anyway), which also waits out a
transaction still queueing a command for it, so a gateway never receives counter n+1 before n. A time command is
signed under that lock after the gateway's other unpublished commands went out, so it too keeps the order.
A gateway that reports itself online with an untrusted clock (its retained status, which the publisher watches:
:class:`~cloud.downlink.timesync.ClockAsks`) gets its time command at once, in a round the report wakes, within
the rate limit of asking. A command is marked published only after the broker's PUBACK; a crash in between means
it is published again, which the gateway refuses harmlessly as ``replayed``. Every publish carries an MQTT 5
message expiry (what is left of the command's lifetime), so a broker holding it for an offline gateway drops it
once the gateway would refuse it anyway — and never delivers a time command later than its lifetime promises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.db.engine import Database
from cloud.downlink.counters import hold
from cloud.downlink.models import DownlinkCommand
from cloud.downlink.mqtt import MqttPublisher
from cloud.downlink.service import counter_name, purge_expired
from cloud.downlink.timesync import (
    ClockAsks,
    TimeSync,
    active_gateways,
    ask_answered,
    gateways_due_over_mqtt,
    mark_published,
    time_for_mqtt,
)
from protocols.commands import DOWN_CHANNEL

BATCH = 200


def _gateways_with_pending(db: Session, *, now: datetime) -> list[str]:
    return list(db.execute(select(DownlinkCommand.gateway_id).where(DownlinkCommand.published_at.is_(None),
                                                                    DownlinkCommand.expires_at > now)
                           .distinct().order_by(DownlinkCommand.gateway_id)).scalars())


def _expiry_s(expires_at: datetime, now: datetime) -> int:
    """Whole seconds left, rounded down: the broker must drop it no later than the gateway would refuse it."""
    return int((expires_at - now).total_seconds())


def _publish_gateway(db: Session, publisher: MqttPublisher, *, gateway_id: str, now: datetime,
                     sync: TimeSync | None = None, asked_at_ms: int | None = None,
                     echo: str | None = None) -> tuple[int, bool]:
    """Publish the gateway's pending commands, then (with ``sync``) its time command if due or asked for at
    ``asked_at_ms``. Returns how many were published and whether that ask is answered now (a time command was
    signed for the gateway since: here, by another publisher or by a poll)."""
    if not hold(db, counter_name(gateway_id, DOWN_CHANNEL), skip_locked=True):
        return 0, False  # another publisher (or a queueing transaction) has this gateway now
    rows = db.execute(select(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway_id,
                                                    DownlinkCommand.channel == DOWN_CHANNEL,
                                                    DownlinkCommand.published_at.is_(None),
                                                    DownlinkCommand.expires_at > now)
                      .order_by(DownlinkCommand.counter).limit(BATCH)).scalars().all()
    published = 0
    for row in rows:
        expiry_s = _expiry_s(row.expires_at, now)
        if expiry_s < 1:
            continue  # expires within the second: the gateway would refuse it; the purge takes it
        publisher.publish(gateway_id, row.signed.encode("ascii"), expiry_s=expiry_s)
        row.published_at = now
        db.flush()
        published += 1
    if sync is None:
        return published, False
    if len(rows) < BATCH:  # time comes after every earlier command, or not this round
        queued = time_for_mqtt(db, gateway_id=gateway_id, sync=sync, asked_at_ms=asked_at_ms, echo=echo)
        if queued is not None:
            at = sync.clock()
            expiry_s = _expiry_s(queued.expires_at, at)
            if expiry_s >= 1:
                publisher.publish(gateway_id, queued.signed, expiry_s=expiry_s)
                mark_published(db, gateway_id=gateway_id, counter=queued.counter, at=at)
                published += 1
    answered = asked_at_ms is not None and ask_answered(db, gateway_id=gateway_id, asked_at_ms=asked_at_ms,
                                                        now=sync.clock())
    return published, answered


def publish_pending(database: Database, publisher: MqttPublisher, *, now: datetime,
                    sync: TimeSync | None = None, asks: ClockAsks | None = None) -> int:
    """Publish every pending command once (each gateway in its own transaction), and with ``sync`` a time
    command to each gateway due one or asking for one (``asks``); returns how many were published."""
    asked = asks.pending() if asks is not None and sync is not None else {}
    with database.session(write=False) as db:
        gateway_ids = set(_gateways_with_pending(db, now=now))
        due = set(gateways_due_over_mqtt(db, now=now, sync=sync)) if sync is not None else set()
        asking = active_gateways(db, asked)
    if asks is not None:
        for gateway_id in set(asked) - asking:
            asks.settle(gateway_id, asked[gateway_id])  # no such active gateway: the ask is void
    published = 0
    for gateway_id in sorted(gateway_ids | due | asking):
        asked_at_ms = asked.get(gateway_id)
        with database.session(write=True) as db:
            count, answered = _publish_gateway(db, publisher, gateway_id=gateway_id, now=now,
                                               sync=sync if gateway_id in due | asking else None,
                                               asked_at_ms=asked_at_ms,
                                               echo=asks.request(gateway_id) if asks is not None else None)
            db.commit()
        published += count
        if answered and asks is not None and asked_at_ms is not None:
            asks.settle(gateway_id, asked_at_ms)  # only once committed: the stamp that answers it is stored
    with database.session(write=True) as db:
        purge_expired(db, now=now)
        db.commit()
    return published


def run_forever(database: Database, publisher: MqttPublisher, *, clock: Callable[[], datetime],
                interval_s: float, stop: Callable[[], bool] = lambda: False, sync: TimeSync | None = None,
                asks: ClockAsks | None = None) -> None:
    """Poll the queue every ``interval_s`` until ``stop()``; with ``sync``, keep the gateways' clocks too, and
    with ``asks`` start a round as soon as a gateway asks for the time (a gateway without a trusted clock lets no
    one in: it must not wait for the next round)."""
    while not stop():
        publish_pending(database, publisher, now=clock(), sync=sync, asks=asks)
        if asks is not None:
            asks.wait(interval_s)
        else:
            time.sleep(interval_s)
