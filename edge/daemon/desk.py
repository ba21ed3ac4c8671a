"""The alarm desk: acknowledging and muting latched alarms, by the same rules wherever the person is.

The output module's acknowledge button, the attendant console and a cloud ``alarm_ack`` all come here. A
refusal raises :class:`~edge.core.alarms.AlarmError` with its code — ``unknown_alarm``, ``gas_present`` (a
level-2 gas alarm while the gas is still out of range: refused, not held; once it has cleared a person
acknowledges again), ``bad_mute`` — and nothing is recorded for it. An accepted operation is one step of the
alarm's space (:class:`~edge.daemon.steps.StepEngine`): its records, and the siren following at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from edge.core.alarms import AlarmError, AlarmEvent, AlarmSet
from edge.core.clock import Now
from edge.core.session_io import RecordAlarm, Tick
from edge.daemon.steps import StepEngine

log = structlog.get_logger(__name__)

#: Told about refusals at the hatch: (space, kind, text).
Announce = Callable[[str, str, str], None]


class AlarmDesk:
    def __init__(self, alarms: AlarmSet, engine: StepEngine, announce: Announce | None = None) -> None:
        self.alarms = alarms
        self.engine = engine
        self.announce = announce

    def _space_of(self, alarm_id: int) -> str:
        space = next((a.key.space for a in self.alarms.open_alarms() if a.id == alarm_id), None)
        if space is None:
            raise AlarmError(f"no open alarm {alarm_id}", "unknown_alarm")
        return space

    async def _op(self, alarm_id: int, op: Callable[[Now], list[AlarmEvent]]) -> None:
        def decide(runner: Any, now: Now) -> tuple[list[Any], list[Any]]:
            events = op(now)  # raises AlarmError before anything is recorded
            return [], [RecordAlarm(e) for e in events] + runner.session.handle(Tick(), now)

        await self.engine.step(self._space_of(alarm_id), decide)

    async def acknowledge(self, alarm_id: int, by: str) -> None:
        """Acknowledge a latched alarm for ``by``; AlarmError (with its code) when refused."""
        await self._op(alarm_id, lambda now: self.alarms.acknowledge(alarm_id, by, now))

    async def mute(self, alarm_id: int, by: str, seconds: float) -> None:
        await self._op(alarm_id, lambda now: self.alarms.mute(alarm_id, by, now, seconds))

    async def acknowledge_space(self, space: str, by: str) -> list[str]:
        """Acknowledge every open alarm of ``space`` that may be; returns why the others were refused."""
        refused = []
        for alarm in [a for a in self.alarms.open_alarms() if a.key.space == space and not a.acknowledged]:
            try:
                await self.acknowledge(alarm.id, by)
            except AlarmError as exc:
                refused.append(str(exc))
        return refused

    async def button(self, space: str) -> None:
        """The acknowledge button of the space's output module: as the console's ``ack_space``; each refusal is
        told to the attendant at the hatch."""
        for reason in await self.acknowledge_space(space, "local_input"):
            log.warning("acknowledge refused", space=space, reason=reason)
            if self.announce is not None:
                self.announce(space, "notice", f"确认被拒绝 / acknowledge refused: {reason}")
