"""The cloud as the gateways' time source: a freshly signed ``time`` command for each gateway that has not been
sent one within ``downlink.time_interval_s`` — with its HTTP poll, or in a round of the MQTT publisher.

**Signed at send time, never queued ahead.** A gateway trusts its wall clock only from NTP or a signed ``time``
command (``edge.clocktrust``). While its clock is untrusted it cannot check a command's expiry (``verify_command``
without a clock accepts any ``time``), so it takes the command's lifetime as the bound on how long it travelled:
true time is within ``[time_ms, time_ms + lifetime]`` and its error bound is half the lifetime (``edge``'s
``CloudCommands.time``). A time command queued in advance and handed over late would set the gateway wrong by
the whole delay, and nothing could tell. So each one is signed the moment it is handed over, lives only
``downlink.time_ttl_s`` (≤ 60 s, ``protocols/uplink.md`` §5.4), and is never handed over expired: the poll leaves
expired commands out, and over MQTT the publish carries an MQTT 5 message expiry so a broker keeping it for an
offline gateway's session drops it in time (``cloud.downlink.publisher``).

**Counters.** A time command takes the gateway's next down-channel counter like any other and is stored until it
expires, so a poll whose answer was lost gets the same one again while it lives. A gateway with an untrusted clock
refuses every other kind (``untrusted_clock``) and, once it accepts a time command, takes every lower counter as
used: the time must come *first*. So when an HTTP poll hands out a time command, the commands above the poll's
``after`` — by definition not accepted yet — are re-issued behind it under new counters (same kind, body and
expiry; ``service.reissue``), and older time commands are dropped. The gateway's counter row is held throughout,
so nothing is queued in between and two polls cannot interleave. The MQTT publisher cannot know what a gateway
accepted, so it does not re-issue: it sends the time after that gateway's unpublished commands, in counter order.

**Who gets one.** Each transport keeps its own stamp, ``time-sent:{http|mqtt}:{gateway}`` in the counters table
(unix ms): a poll stamps ``http`` when it hands out a time command, the publisher stamps ``mqtt`` for every active
gateway it sends one. The publisher leaves out gateways that fetched one by HTTP within two intervals: they poll,
and an MQTT copy would only be fetched again. A gateway that restarts without NTP waits at most one interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import String, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from cloud.db.engine import Database
from cloud.devices.models import GATEWAY_ACTIVE, Gateway
from cloud.downlink.counters import hold, read, store
from cloud.downlink.models import Counter, DownlinkCommand
from cloud.downlink.service import (
    QueuedCommand,
    counter_name,
    pending_for_poll,
    pending_rows,
    queue_command,
    reissue,
    to_ms,
)
from cloud.downlink.settings import DownlinkSettings
from cloud.keys.service import KeyStore
from protocols.commands import DOWN_CHANNEL

Transport = Literal["http", "mqtt"]
HTTP: Transport = "http"
MQTT: Transport = "mqtt"


def stamp_name(gateway_id: str, transport: Transport) -> str:
    return f"time-sent:{transport}:{gateway_id}"


def to_ms_delta(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


@dataclass(frozen=True)
class TimeSync:
    """How often each gateway gets a time command, how long one lives, the clock read when signing, the keys."""

    interval: timedelta
    ttl: timedelta
    clock: Callable[[], datetime]
    keystore: KeyStore | None = None  # None: the installed store

    @classmethod
    def from_settings(cls, settings: DownlinkSettings, *, clock: Callable[[], datetime],
                      keystore: KeyStore | None = None) -> TimeSync:
        return cls(interval=timedelta(seconds=settings.time_interval_s), ttl=timedelta(seconds=settings.time_ttl_s),
                   clock=clock, keystore=keystore)

    def due(self, sent_ms: int | None, now: datetime) -> bool:
        """Whether a gateway last sent a time command at ``sent_ms`` needs one now (also when the cloud's clock
        went back past the stamp: a stamp in the future would otherwise silence it for as long)."""
        now_ms = to_ms(now)
        return sent_ms is None or sent_ms > now_ms or now_ms - sent_ms >= to_ms_delta(self.interval)


def issue_time(db: Session, *, gateway_id: str, transport: Transport, now: datetime,
               sync: TimeSync) -> QueuedCommand:
    """Sign and store a time command saying ``now`` and stamp ``transport``; the caller holds the counter and
    hands the command over at once."""
    queued = queue_command(db, gateway_id=gateway_id, kind="time", body={"time_ms": to_ms(now)}, now=now,
                           ttl=sync.ttl, keystore=sync.keystore)
    store(db, stamp_name(gateway_id, transport), to_ms(now))
    return queued


# -- the HTTP poll -------------------------------------------------------------------------------------------


def _poll_needs_time(db: Session, *, gateway_id: str, after: int, now: datetime, sync: TimeSync) -> bool:
    """Due for this gateway, or a stored time command would not come first (another transport's, behind others)."""
    if sync.due(read(db, stamp_name(gateway_id, HTTP)), now):
        return True
    kinds = db.execute(select(DownlinkCommand.kind).where(
        DownlinkCommand.gateway_id == gateway_id, DownlinkCommand.channel == DOWN_CHANNEL,
        DownlinkCommand.counter > after, DownlinkCommand.expires_at > now).order_by(DownlinkCommand.counter)).scalars()
    return "time" in list(kinds)[1:]


def _time_first(db: Session, *, gateway_id: str, after: int, sync: TimeSync) -> datetime:
    """Under the gateway's counter: a fresh time command, then the commands it has not accepted re-issued
    behind it. Returns the instant signed."""
    hold(db, counter_name(gateway_id, DOWN_CHANNEL))
    now = sync.clock()  # read once the counter is held: waiting for it must not age the time signed
    rows = pending_rows(db, gateway_id=gateway_id, after=after, now=now)
    if not sync.due(read(db, stamp_name(gateway_id, HTTP)), now) and not any(r.kind == "time" for r in rows[1:]):
        return now  # a concurrent poll did it meanwhile
    for row in rows:
        if row.kind == "time":
            db.delete(row)  # superseded by the fresh one
    db.flush()
    issue_time(db, gateway_id=gateway_id, transport=HTTP, now=now, sync=sync)
    for row in rows:
        if row.kind != "time":
            reissue(db, row, keystore=sync.keystore)
    return now


def commands_for_poll(db: Session, *, database: Database, gateway_id: str, after: int, now: datetime,
                      sync: TimeSync) -> list[bytes]:
    """What a gateway's HTTP poll answers: its pending commands, led by a freshly signed time command when one is
    due. ``db`` is the request's read session; only a poll that must sign opens a write transaction, so the
    polls of thousands of gateways stay reads."""
    if not _poll_needs_time(db, gateway_id=gateway_id, after=after, now=now, sync=sync):
        return pending_for_poll(db, gateway_id=gateway_id, after=after, now=now)
    db.rollback()  # end the read snapshot; the write transaction below sees what others committed
    with database.session(write=True) as wdb:
        signed_at = _time_first(wdb, gateway_id=gateway_id, after=after, sync=sync)
        commands = pending_for_poll(wdb, gateway_id=gateway_id, after=after, now=signed_at)
        wdb.commit()  # before the answer leaves: a command is never handed out and then rolled back
    return commands


# -- the MQTT publisher --------------------------------------------------------------------------------------


def gateways_due_over_mqtt(db: Session, *, now: datetime, sync: TimeSync) -> list[str]:
    """Active gateways the publisher owes a time command: none sent over MQTT within the interval, and none
    fetched over HTTP within two intervals (a gateway that polls gets its own)."""
    now_ms, interval_ms = to_ms(now), to_ms_delta(sync.interval)
    mqtt_sent, http_sent = aliased(Counter), aliased(Counter)
    stmt = (select(Gateway.id)
            .outerjoin(mqtt_sent, mqtt_sent.name == literal(stamp_name("", MQTT), String) + Gateway.id)
            .outerjoin(http_sent, http_sent.name == literal(stamp_name("", HTTP), String) + Gateway.id)
            .where(Gateway.status == GATEWAY_ACTIVE,
                   or_(mqtt_sent.value.is_(None), mqtt_sent.value <= now_ms - interval_ms, mqtt_sent.value > now_ms),
                   or_(http_sent.value.is_(None), http_sent.value <= now_ms - 2 * interval_ms,
                       http_sent.value > now_ms))
            .order_by(Gateway.id))
    return list(db.execute(stmt).scalars())


def time_for_mqtt(db: Session, *, gateway_id: str, sync: TimeSync) -> QueuedCommand | None:
    """For the publisher holding the gateway's counter, with every earlier command of it published: a freshly
    signed time command to publish now (then ``mark_published``), or None when one was sent within the interval."""
    now = sync.clock()
    if not sync.due(read(db, stamp_name(gateway_id, MQTT)), now):
        return None
    return issue_time(db, gateway_id=gateway_id, transport=MQTT, now=now, sync=sync)


def mark_published(db: Session, *, gateway_id: str, counter: int, at: datetime) -> None:
    db.execute(update(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway_id,
                                             DownlinkCommand.channel == DOWN_CHANNEL,
                                             DownlinkCommand.counter == counter).values(published_at=at))
