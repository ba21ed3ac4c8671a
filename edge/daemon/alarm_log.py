"""Every alarm transition as one line of the daemon's log, so that an operator reading ``journalctl`` sees each
alarm raised, reactivated, acknowledged, cleared, muted and unmuted — as a lost link already showed there.

The outbox and the ledger hold the records; this is the log an operator reads on the gateway. Event names stay
English and fixed (``alarm raised``, ``alarm cleared`` …) so that they can be filtered; the fields name the
alarm (id, kind, level, space, subject), who acted, and the alarm's own text.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from edge.core.alarms import GATEWAY, AlarmEvent, AlarmEventType
from edge.core.session_io import RecordAlarm
from edge.daemon.records import LEVEL1_KINDS

log = structlog.get_logger("edge.alarms")

_NAMES = {
    AlarmEventType.RAISED: "alarm raised",
    AlarmEventType.REACTIVATED: "alarm reactivated",
    AlarmEventType.ACKNOWLEDGED: "alarm acknowledged",
    AlarmEventType.CLEARED: "alarm cleared",
    AlarmEventType.MUTED: "alarm muted",
    AlarmEventType.MUTE_EXPIRED: "alarm mute expired",
}


def log_alarm_event(event: AlarmEvent, *, session_id: str | None = None) -> None:
    """One log line for one alarm step: a warning when an alarm starts or comes back, info for the steps that
    end or quiet it. (Not an error: ``error`` is kept for the gateway's own failures; ``level`` says how urgent
    the alarm is.)"""
    key = event.key
    level = 1 if key.kind in LEVEL1_KINDS else 2
    fields = {"alarm_id": event.alarm_id, "kind": key.kind.value, "level": level, "space": key.space,
              "reason": event.reason}
    if key.subject:
        fields["subject"] = key.subject
    if event.by != GATEWAY:
        fields["by"] = event.by
    if session_id:
        fields["session_id"] = session_id
    if event.closed:
        fields["closed"] = True
    name = _NAMES[event.type]
    if event.type in (AlarmEventType.RAISED, AlarmEventType.REACTIVATED):
        log.warning(name, **fields)
    else:
        log.info(name, **fields)


def log_alarm_events(actions: Iterable[object], *, session_id: str | None = None) -> None:
    """A log line for each alarm step among one core step's actions (called after the outputs are set)."""
    for action in actions:
        if isinstance(action, RecordAlarm):
            log_alarm_event(action.event, session_id=session_id)

