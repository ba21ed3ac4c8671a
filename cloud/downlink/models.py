"""Downlink tables: named counters (UPDATE … RETURNING, safe with many workers) and the queued commands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UtcDateTime


class Counter(Base):
    """A named, strictly increasing counter: command counters per gateway and channel, list versions. Rows named
    ``time-sent:{transport}:{gateway}`` are not counters but time stamps (unix ms): when the cloud last sent that
    gateway a ``time`` command (``cloud.downlink.timesync``), kept here so no migration was needed."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class DownlinkCommand(Base):
    """A signed command for one gateway, kept until it expires so an HTTP poll can fetch it, with what the gateway
    reported of it (its ``command_result`` event, ``protocols/uplink.md`` §5.3; ``cloud.downlink.results``)."""

    __tablename__ = "downlink_commands"
    __table_args__ = (UniqueConstraint("gateway_id", "channel", "counter"),
                      Index("ix_downlink_commands_pending", "published_at", "gateway_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    counter: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    signed: Mapped[str] = mapped_column(Text)  # the wire bytes (ASCII JSON) exactly as signed
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # on MQTT
    # The gateway's word on it: NULL until a command_result arrives; the most telling one kept (results.py).
    result: Mapped[str | None] = mapped_column(String(32))
    result_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when the gateway reported it (its clock)
    verified: Mapped[bool | None] = mapped_column(Boolean)  # False: the signature did not hold (claimed counter)
