"""Queueing signed commands for a gateway, and reading them back for its HTTP poll.

Each command gets the next counter of its gateway and channel (``protocols/uplink.md`` §5.3), is signed with
the cloud's current command key and — on the down channel — stored until it expires, for the HTTP poll and the
MQTT publisher. Ack commands are not stored: an ack is only worth its latest value and travels on MQTT at once.
The counter row stays locked until the caller commits, so commands of one gateway commit in counter order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloud.devices.models import Gateway
from cloud.downlink.counters import next_value
from cloud.downlink.models import DownlinkCommand
from cloud.errors import InvalidInput, NotFound
from cloud.keys.service import KeyStore, current_store
from cloud.wiretime import to_ms  # also imported from here by other modules
from protocols import crypto
from protocols.commands import (
    ACK_CHANNEL,
    COMMAND_ADAPTER,
    DOWN_CHANNEL,
    MAX_COMMANDS_PER_POLL,
    MAX_COSE_BYTES,
    MAX_LIFETIME_MS,
    SIGNED_ADAPTER,
    Channel,
    Command,
    make_command,
    sign_command,
)
from protocols.errors import EnvelopeError
from protocols.uplink.fields import b64url_decode, parse_json

DEFAULT_TTL = timedelta(hours=24)
#: A time command must arrive fresh (uplink.md §5.5).
TIME_TTL = timedelta(seconds=60)
MAX_TTL = timedelta(milliseconds=MAX_LIFETIME_MS)


def counter_name(gateway_id: str, channel: str) -> str:
    return f"command:{gateway_id}:{channel}"


@dataclass(frozen=True)
class QueuedCommand:
    counter: int
    signed: bytes  # the wire bytes
    expires_at: datetime


def enqueue_command(db: Session, *, gateway_id: str, kind: str, body: Mapping[str, Any], now: datetime,
                    channel: Channel = DOWN_CHANNEL, ttl: timedelta | None = None,
                    keystore: KeyStore | None = None) -> bytes:
    """Sign a ``kind`` command for ``gateway_id`` with the next counter; store it (down channel); return the
    wire bytes to publish on ``topics.downlink_topic`` (or ``ack_topic`` for the ack channel).

    ``ttl`` defaults to 24 h (60 s for ``time``) and is capped at the protocol's 7 days. A body the protocol
    refuses is ``InvalidInput``; an unknown gateway ``NotFound``.
    """
    return queue_command(db, gateway_id=gateway_id, kind=kind, body=body, now=now, channel=channel, ttl=ttl,
                         keystore=keystore).signed


def queue_command(db: Session, *, gateway_id: str, kind: str, body: Mapping[str, Any], now: datetime,
                  channel: Channel = DOWN_CHANNEL, ttl: timedelta | None = None,
                  keystore: KeyStore | None = None) -> QueuedCommand:
    """``enqueue_command``, also telling the counter given and the expiry."""
    if channel not in (DOWN_CHANNEL, ACK_CHANNEL):
        raise InvalidInput(f"unknown channel {channel!r}", field="channel")
    if db.get(Gateway, gateway_id) is None:
        raise NotFound("no such gateway")
    keyring = (keystore or current_store()).keyring()  # before the counter: no keys, no counter used
    lifetime = min(ttl or (TIME_TTL if kind == "time" else DEFAULT_TTL), MAX_TTL)
    counter = next_value(db, counter_name(gateway_id, channel))
    try:
        command = make_command({"kind": kind, "gateway": gateway_id, "counter": counter,
                                "issued_at_ms": to_ms(now), "expires_at_ms": to_ms(now + lifetime), "body": dict(body)})
        if command.channel != channel:
            raise InvalidInput(f"a {kind} command belongs on the {command.channel} channel", field="channel")
        signed = sign_command(command, keyring.command_private, kid=keyring.command.kid)
    except EnvelopeError as exc:
        raise InvalidInput(f"invalid {kind} command: {exc}", field=exc.field) from exc
    if channel == DOWN_CHANNEL:
        db.add(DownlinkCommand(gateway_id=gateway_id, channel=channel, counter=counter, kind=kind, issued_at=now,
                               expires_at=now + lifetime, signed=signed.decode("ascii")))
        db.flush()
    return QueuedCommand(counter=counter, signed=signed, expires_at=now + lifetime)


def pending_rows(db: Session, *, gateway_id: str, after: int, now: datetime,
                 limit: int | None = None) -> list[DownlinkCommand]:
    """The stored down-channel commands above ``after`` not yet expired, ascending by counter."""
    stmt = (select(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway_id,
                                          DownlinkCommand.channel == DOWN_CHANNEL,
                                          DownlinkCommand.counter > after, DownlinkCommand.expires_at > now)
            .order_by(DownlinkCommand.counter))
    return list(db.execute(stmt if limit is None else stmt.limit(limit)).scalars())


def pending_for_poll(db: Session, *, gateway_id: str, after: int, now: datetime,
                     limit: int = MAX_COMMANDS_PER_POLL) -> list[bytes]:
    """Down-channel commands above ``after`` not yet expired, ascending by counter."""
    rows = pending_rows(db, gateway_id=gateway_id, after=after, now=now, limit=min(limit, MAX_COMMANDS_PER_POLL))
    return [row.signed.encode("ascii") for row in rows]


def stored_command(row: DownlinkCommand) -> Command:
    """The command a stored row carries, read back from its own signed bytes (the cloud wrote them: not verified)."""
    signed = parse_json(SIGNED_ADAPTER, row.signed.encode("ascii"), what="signed command")
    sign1 = crypto.decode_sign1(b64url_decode(signed.cose, field="cose"), max_bytes=MAX_COSE_BYTES,
                                error=EnvelopeError)
    return parse_json(COMMAND_ADAPTER, sign1.payload, what="command")


def reissue(db: Session, row: DownlinkCommand, *, keystore: KeyStore | None = None) -> DownlinkCommand:
    """The same command under the gateway's next counter, signed with the current key, replacing ``row``.

    For a command not yet accepted that must now come after another one (``protocols/uplink.md`` §5.3: the cloud
    re-issues with a new counter). Kind, body, issue and expiry times stay; the caller holds the counter.
    """
    keyring = (keystore or current_store()).keyring()
    command = stored_command(row)
    counter = next_value(db, counter_name(row.gateway_id, row.channel))
    fresh = make_command({**command.model_dump(mode="json"), "counter": counter})
    signed = sign_command(fresh, keyring.command_private, kid=keyring.command.kid)
    replacement = DownlinkCommand(gateway_id=row.gateway_id, channel=row.channel, counter=counter, kind=row.kind,
                                  issued_at=row.issued_at, expires_at=row.expires_at, signed=signed.decode("ascii"))
    db.delete(row)
    db.add(replacement)
    db.flush()
    return replacement


def purge_expired(db: Session, *, now: datetime) -> int:
    """Delete expired commands (a gateway can no longer accept them); returns how many."""
    result = db.execute(delete(DownlinkCommand).where(DownlinkCommand.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
