"""Which alarm conditions a space's gas state implies.

Gas hazards (level 1/2, STEL, TWA) are alarms at any time. A detector fault, a lost link or stale data is an alarm
during a session (fail-safe: a missing reading is never "safe"); outside one it only blocks the attestation. A gas
whose detector is in fault keeps its last alarm level: an unknown concentration is not a cleared one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from edge.core.alarms import Alarm, AlarmKey, AlarmKind
from edge.core.gas import GasState, Level, ReadingStatus, exposure_text, level_text
from edge.core.limits import Gas

GAS_ALARM_KINDS = frozenset(
    {
        AlarmKind.GAS_LEVEL1,
        AlarmKind.GAS_LEVEL2,
        AlarmKind.STEL,
        AlarmKind.TWA,
        AlarmKind.DETECTOR_FAULT,
        AlarmKind.COMM_LOSS,
        AlarmKind.STALE_DATA,
    }
)


def gas_alarm_conditions(state: GasState, in_session: bool) -> dict[AlarmKey, str]:
    """The alarm conditions (key → reason) that ``state`` implies; feed them to ``AlarmSet.reconcile``."""
    out: dict[AlarmKey, str] = {}

    def add(kind: AlarmKind, subject: str, reasons: tuple[str, ...]) -> None:
        key = AlarmKey(kind, state.space, subject)
        text = "; ".join(reasons) or kind.value
        out[key] = f"{out[key]}; {text}" if key in out and text not in out[key] else text

    for gas, report in state.gases.items():
        lim, value = report.limit, report.value
        # Each alarm's own text: its level, its limit and the value (a level-1 alarm never speaks of level 2).
        if report.gas_level in (Level.LEVEL1, Level.LEVEL2):
            add(AlarmKind.GAS_LEVEL1, gas.value, (level_text(lim, Level.LEVEL1, value, over_range=report.over_range),))
        if report.gas_level == Level.LEVEL2:
            add(AlarmKind.GAS_LEVEL2, gas.value, (level_text(lim, Level.LEVEL2, value, over_range=report.over_range),))
        if report.stel_exceeded:
            add(AlarmKind.STEL, gas.value, (exposure_text(lim, "stel", report.stel),))
        if report.twa_exceeded:
            add(AlarmKind.TWA, gas.value, (exposure_text(lim, "twa", report.twa),))
        if not in_session:
            continue
        subject = report.detector or gas.value  # one lost detector is one alarm, not one per gas
        why = (report.condition,) if report.condition else report.reasons
        if report.level == Level.STALE:
            add(AlarmKind.STALE_DATA, subject, why)
        elif report.level == Level.FAULT:
            kind = AlarmKind.COMM_LOSS if report.fault == ReadingStatus.COMM_LOSS else AlarmKind.DETECTOR_FAULT
            add(kind, subject, why)
    return out


_GAS_NAMES = frozenset(g.value for g in Gas)


def held_gas_levels(alarms: Iterable[Alarm], space: str) -> dict[Gas, Level]:
    """The gas levels a restarted monitor of ``space`` starts from: those of its active level-1/2 gas alarms
    (see ``GasMonitor.hold_level``), so a restart with no reading yet does not clear them."""
    levels: dict[Gas, Level] = {}
    for alarm in alarms:
        if alarm.key.space != space or not alarm.active or alarm.key.subject not in _GAS_NAMES:
            continue
        if alarm.key.kind is AlarmKind.GAS_LEVEL2:
            levels[Gas(alarm.key.subject)] = Level.LEVEL2
        elif alarm.key.kind is AlarmKind.GAS_LEVEL1:
            levels.setdefault(Gas(alarm.key.subject), Level.LEVEL1)
    return levels


def owns_gas_alarms(space: str) -> Callable[[AlarmKey], bool]:
    """For ``AlarmSet.reconcile``: which alarms the gas evaluation of ``space`` is responsible for."""
    return lambda key: key.space == space and key.kind in GAS_ALARM_KINDS
