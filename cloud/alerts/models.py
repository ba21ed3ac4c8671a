"""Alert tables: the alerts themselves and their events (the in-app feed, and the outbox of notifications).

``source_key`` makes raising idempotent across workers, by a unique constraint rather than a lookup:
an alarm alert keeps ``alarm:{gateway}:{alarm_id}`` for ever (a late record of a resolved alarm must find it),
a recurring rule alert holds ``{kind}:{subject}`` only while it is open (NULL once resolved; NULLs never collide),
so the same condition can raise again later.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime, str_enum


class AlertKind(StrEnum):
    ALARM = "alarm"  # raised by a gateway (gas, overtime, unauthorized open, detector fault …)
    GATEWAY_OFFLINE = "gateway_offline"
    CALIBRATION_OVERDUE = "calibration_overdue"
    SESSION_WITHOUT_GAS = "session_without_gas"
    PERMIT_OUTSIDE_WINDOW = "permit_outside_window"
    REFUSED_UNLOCKS = "refused_unlocks"  # N refused unlocks at one padlock within M minutes
    UNKNOWN_DETECTOR = "unknown_detector"  # readings from a detector id the registry does not know


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Lifecycle order: a state never goes back, whatever order the records that move it arrive in.
STATE_RANK = {AlertState.RAISED: 0, AlertState.ACKNOWLEDGED: 1, AlertState.RESOLVED: 2}


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_enterprise_raised", "enterprise_id", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    state: Mapped[AlertState] = mapped_column(str_enum(AlertState), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)  # 1 warning, 2 danger
    cause: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("confined_spaces.id", ondelete="SET NULL"), index=True)
    gateway_id: Mapped[str | None] = mapped_column(String(64), index=True)
    space_key: Mapped[str | None] = mapped_column(String(64))  # the space as the gateway names it
    alarm_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    permit_id: Mapped[str | None] = mapped_column(String(64))
    detector_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # the facts: alarm body, rule inputs
    rescue_card: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # the space's card when raised
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))  # a user name, "gateway:…" or "system"
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))
    # The gateway refused the acknowledgement sent from here (code, reason, at, counter, acknowledged_by): set
    # when the refusal reopened the alert, cleared when it moves on again (the events keep the history).
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlertEvent(Base):
    """One step of an alert's life: the in-app feed reads these; notifiers deliver each once."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_pending", "delivered", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # raised, acknowledged, resolved, ack_refused
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32))  # ack_refused: the gateway's result code
    detail: Mapped[str | None] = mapped_column(String(300))  # ack_refused: the reason, Chinese / English
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
