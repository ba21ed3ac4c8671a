"""The cloud as the gateways' time source: a freshly signed ``time`` command for each gateway that has not been
sent one within ``downlink.time_interval_s`` — with its HTTP poll, or in a round of the MQTT publisher.

**Echoing the gateway's time request.** A gateway sends a time request with each HTTP poll (``time_request``) and
in each MQTT online status; a time command signed after it arrived echoes it (``body.echo``), and the gateway,
which knows when it sent that request, then knows the command was signed within the measured round trip: its
error bound is half of that (``protocols/uplink.md`` §5.5), milliseconds on a good link. Over HTTP the poll's own
request is echoed; over MQTT the latest request seen in the gateway's status (:class:`ClockAsks`).

**Signed at send time, never queued ahead.** A time command that echoes nothing (an older gateway, or no request
seen yet) can only be bounded by its lifetime — true time within ``[time_ms, time_ms + lifetime]``, error bound
half the lifetime — and a gateway without a trusted clock cannot check its expiry. A time command queued in
advance and handed over late would set such a gateway wrong by the whole delay. So each one is signed the moment
it is handed over, lives only ``downlink.time_ttl_s`` (≤ 60 s, ``protocols/uplink.md`` §5.5), and is never handed
over expired: the poll leaves expired commands out, and over MQTT the publish carries an MQTT 5 message expiry so a
broker keeping it for an offline gateway's session drops it in time (``cloud.downlink.publisher``).

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
and an MQTT copy would only be fetched again.

**A gateway that asks gets one at once.** A gateway that restarts without NTP refuses every command but ``time``
and can give its padlocks neither time nor gas attestations, so no entry is possible until a time command arrives:
waiting for the interval could take ten minutes. So it asks (``protocols/uplink.md`` §6, §7): its HTTP poll says
``clock=untrusted``, and over MQTT its retained status says ``clock_trusted: false`` (the publisher watches
``safegrid/v1/gw/+/status`` and keeps the asks in :class:`ClockAsks`). The cloud then signs one at once — through
the same paths as the periodic one, so over HTTP it still leads the commands not accepted yet — but at most one
per ``TimeSync.ask_gap`` (5 s) per gateway, counting the time commands of both transports: a gateway that keeps
asking (misbehaving, or failing to take what it is sent) cannot make the cloud sign in a loop. An MQTT ask is
kept until a time command is signed for that gateway after it (by this publisher, another one, or a poll), or a
newer status withdraws it; asks are in memory only, and a restarted publisher gets them back from the retained
statuses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import String, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from cloud.db.engine import Database
from cloud.devices.models import Gateway, GatewayStatus
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
from protocols.uplink import Status

Transport = Literal["http", "mqtt"]
HTTP: Transport = "http"
MQTT: Transport = "mqtt"
TRANSPORTS: tuple[Transport, ...] = (HTTP, MQTT)

#: The least time between two time commands a gateway gets by asking (both transports counted together).
ASK_GAP = timedelta(seconds=5)


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
    ask_gap: timedelta = field(default=ASK_GAP)

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

    def may_answer_ask(self, last_sent_ms: int | None, now: datetime) -> bool:
        """Whether a gateway that asks for the time may get one now, the last one for it (either transport, see
        :func:`last_sent_ms`) signed at ``last_sent_ms``: the rate limit on asking."""
        return last_sent_ms is None or to_ms(now) - last_sent_ms >= to_ms_delta(self.ask_gap)


def last_sent_ms(db: Session, *, gateway_id: str, now: datetime) -> int | None:
    """When the gateway was last sent a time command by either transport (unix ms). A stamp ahead of ``now``
    (the cloud's clock went back) is left out, as ``TimeSync.due`` does: it must not silence the gateway."""
    now_ms = to_ms(now)
    stamps = [read(db, stamp_name(gateway_id, transport)) for transport in TRANSPORTS]
    sent = [stamp for stamp in stamps if stamp is not None and stamp <= now_ms]
    return max(sent) if sent else None


def issue_time(db: Session, *, gateway_id: str, transport: Transport, now: datetime, sync: TimeSync,
               echo: str | None = None) -> QueuedCommand:
    """Sign and store a time command saying ``now`` (echoing the gateway's time request ``echo``, received before
    ``now``) and stamp ``transport``; the caller holds the counter and hands the command over at once."""
    body: dict[str, object] = {"time_ms": to_ms(now)} if echo is None else {"time_ms": to_ms(now), "echo": echo}
    queued = queue_command(db, gateway_id=gateway_id, kind="time", body=body, now=now, ttl=sync.ttl,
                           keystore=sync.keystore)
    store(db, stamp_name(gateway_id, transport), to_ms(now))
    return queued


# -- the HTTP poll -------------------------------------------------------------------------------------------


def _http_time_due(db: Session, *, gateway_id: str, now: datetime, sync: TimeSync, asked: bool) -> bool:
    """None sent by HTTP within the interval, or the gateway asks (its clock is untrusted) and the rate limit
    allows it."""
    if sync.due(read(db, stamp_name(gateway_id, HTTP)), now):
        return True
    return asked and sync.may_answer_ask(last_sent_ms(db, gateway_id=gateway_id, now=now), now)


def _poll_needs_time(db: Session, *, gateway_id: str, after: int, now: datetime, sync: TimeSync,
                     asked: bool) -> bool:
    """Due for this gateway (or asked for), or a stored time command would not come first (another transport's,
    behind others)."""
    if _http_time_due(db, gateway_id=gateway_id, now=now, sync=sync, asked=asked):
        return True
    kinds = db.execute(select(DownlinkCommand.kind).where(
        DownlinkCommand.gateway_id == gateway_id, DownlinkCommand.channel == DOWN_CHANNEL,
        DownlinkCommand.counter > after, DownlinkCommand.expires_at > now).order_by(DownlinkCommand.counter)).scalars()
    return "time" in list(kinds)[1:]


def _time_first(db: Session, *, gateway_id: str, after: int, sync: TimeSync, asked: bool,
                time_request: str | None = None) -> datetime:
    """Under the gateway's counter: a fresh time command (echoing the poll's ``time_request``), then the commands
    it has not accepted re-issued behind it. Returns the instant signed."""
    hold(db, counter_name(gateway_id, DOWN_CHANNEL))
    now = sync.clock()  # read once the counter is held: waiting for it must not age the time signed
    rows = pending_rows(db, gateway_id=gateway_id, after=after, now=now)
    if (not _http_time_due(db, gateway_id=gateway_id, now=now, sync=sync, asked=asked)
            and not any(r.kind == "time" for r in rows[1:])):
        return now  # a concurrent poll did it meanwhile (or the rate limit now says no)
    for row in rows:
        if row.kind == "time":
            db.delete(row)  # superseded by the fresh one
    db.flush()
    issue_time(db, gateway_id=gateway_id, transport=HTTP, now=now, sync=sync, echo=time_request)
    for row in rows:
        if row.kind != "time":
            reissue(db, row, keystore=sync.keystore)
    return now


def commands_for_poll(db: Session, *, database: Database, gateway_id: str, after: int, now: datetime,
                      sync: TimeSync, clock_untrusted: bool = False, time_request: str | None = None) -> list[bytes]:
    """What a gateway's HTTP poll answers: its pending commands, led by a freshly signed time command when one is
    due — or asked for: ``clock_untrusted`` (the poll's ``clock=untrusted``) makes it due at once, within the
    rate limit. A fresh time command echoes the poll's ``time_request``. ``db`` is the request's read session;
    only a poll that must sign opens a write transaction, so the polls of thousands of gateways stay reads."""
    if not _poll_needs_time(db, gateway_id=gateway_id, after=after, now=now, sync=sync, asked=clock_untrusted):
        return pending_for_poll(db, gateway_id=gateway_id, after=after, now=now)
    db.rollback()  # end the read snapshot; the write transaction below sees what others committed
    with database.session(write=True) as wdb:
        signed_at = _time_first(wdb, gateway_id=gateway_id, after=after, sync=sync, asked=clock_untrusted,
                                time_request=time_request)
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
            .where(Gateway.status == GatewayStatus.ACTIVE,
                   or_(mqtt_sent.value.is_(None), mqtt_sent.value <= now_ms - interval_ms, mqtt_sent.value > now_ms),
                   or_(http_sent.value.is_(None), http_sent.value <= now_ms - 2 * interval_ms,
                       http_sent.value > now_ms))
            .order_by(Gateway.id))
    return list(db.execute(stmt).scalars())


def active_gateways(db: Session, gateway_ids: Collection[str]) -> set[str]:
    """Those of ``gateway_ids`` that are active: only they are sent time commands (an ask from any other is
    dropped)."""
    if not gateway_ids:
        return set()
    stmt = select(Gateway.id).where(Gateway.id.in_(sorted(gateway_ids)), Gateway.status == GatewayStatus.ACTIVE)
    return set(db.execute(stmt).scalars())


def ask_answered(db: Session, *, gateway_id: str, asked_at_ms: int, now: datetime) -> bool:
    """Whether a time command was signed for the gateway (either transport, any publisher) since it asked."""
    last = last_sent_ms(db, gateway_id=gateway_id, now=now)
    return last is not None and last >= asked_at_ms


def time_for_mqtt(db: Session, *, gateway_id: str, sync: TimeSync, asked_at_ms: int | None = None,
                  echo: str | None = None) -> QueuedCommand | None:
    """For the publisher holding the gateway's counter, with every earlier command of it published: a freshly
    signed time command to publish now (then ``mark_published``), echoing the gateway's latest time request
    ``echo`` (:meth:`ClockAsks.request`), or None when one was sent within the interval — unless the gateway asked
    (at ``asked_at_ms``, see :class:`ClockAsks`), none was signed for it since, and the rate limit allows one."""
    now = sync.clock()
    if not sync.due(read(db, stamp_name(gateway_id, MQTT)), now):
        if asked_at_ms is None:
            return None
        last = last_sent_ms(db, gateway_id=gateway_id, now=now)
        if (last is not None and last >= asked_at_ms) or not sync.may_answer_ask(last, now):
            return None
    return issue_time(db, gateway_id=gateway_id, transport=MQTT, now=now, sync=sync, echo=echo)


def mark_published(db: Session, *, gateway_id: str, counter: int, at: datetime) -> None:
    db.execute(update(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway_id,
                                             DownlinkCommand.channel == DOWN_CHANNEL,
                                             DownlinkCommand.counter == counter).values(published_at=at))


class ClockAsks:
    """The gateways that said in their MQTT status that they are online with an untrusted clock, each with when
    the publisher heard it (unix ms by its clock): what :func:`time_for_mqtt` answers.

    Fed from paho's network thread (:meth:`status`), read by the publisher's loop, so every method takes the
    lock. A newer status of the gateway saying trusted or offline withdraws its ask; a repeated ask keeps the
    first instant (a time command signed after it answers both). :meth:`wait` lets the loop sleep until an ask
    arrives, so it is answered at once rather than at the next round. Every online status's ``time_request`` is
    kept too (the latest per gateway, asking or not), for the next time command to echo; an offline status
    forgets it.
    """

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._asks: dict[str, int] = {}
        self._requests: dict[str, str] = {}
        self._arrived = threading.Event()

    def status(self, gateway_id: str, status: Status) -> None:
        """A status from ``gateway_id``'s own topic (the broker's ACL lets only that gateway publish there)."""
        with self._lock:
            if status.online and status.time_request is not None:
                self._requests[gateway_id] = status.time_request
            elif not status.online:
                self._requests.pop(gateway_id, None)
            if status.online and status.clock_trusted is False:
                if gateway_id not in self._asks:
                    self._asks[gateway_id] = to_ms(self._clock())
                    self._arrived.set()
            else:
                self._asks.pop(gateway_id, None)

    def request(self, gateway_id: str) -> str | None:
        """The gateway's latest time request (from its status), for the time command to echo."""
        with self._lock:
            return self._requests.get(gateway_id)

    def pending(self) -> dict[str, int]:
        """The open asks: gateway → when asked (unix ms)."""
        with self._lock:
            return dict(self._asks)

    def settle(self, gateway_id: str, asked_at_ms: int) -> None:
        """The ask made at ``asked_at_ms`` is answered (or void): forget it, unless a newer one replaced it."""
        with self._lock:
            if self._asks.get(gateway_id) == asked_at_ms:
                del self._asks[gateway_id]

    def wait(self, timeout_s: float) -> bool:
        """Sleep until an ask arrives (or :meth:`wake`) or ``timeout_s`` passes; whether woken."""
        arrived = self._arrived.wait(timeout_s)
        self._arrived.clear()
        return arrived

    def wake(self) -> None:
        """End a :meth:`wait` now (to stop the loop without waiting out its interval)."""
        self._arrived.set()
