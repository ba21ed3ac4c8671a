"""The step engine: the one place where an input becomes the safety core's decision and its effects.

Every input — a poll, a padlock event, a cloud command, an attendant's input, a storage fault, the clock — is one
*step* of one space: under the engine's lock (steps of all spaces are serialized, so the order of the records is
the order of the decisions) the caller's ``decide`` reads the time-stamped input, returns the input's own records
and the core's actions, and :class:`~edge.daemon.actions.ActionExecutor` carries them out: local outputs first,
then records, then state, pushes and the ledger. ``decide`` may raise (a refused acknowledgement) before anything
is recorded; nothing after it raises for a failing disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

from edge.core.clock import Now
from edge.core.session_io import Action, SessionInput
from edge.daemon import records
from edge.daemon.actions import ActionExecutor
from edge.daemon.spaces import SpaceRunner

#: What a step decides: given the space and the time, the input's own records and the core's actions.
Decision: TypeAlias = tuple[Sequence[records.Record], Sequence[Action]]
Decide = Callable[[SpaceRunner, Now], Decision]


class StepEngine:
    """Owns the lock and the order of effects for every space's steps."""

    def __init__(self, spaces: Mapping[str, SpaceRunner], executor: ActionExecutor, now: Callable[[], Now]) -> None:
        self.spaces = spaces
        self.executor = executor
        self._now = now
        self._lock = asyncio.Lock()
        self.steps = 0

    async def step(self, space: str, decide: Decide) -> None:
        """One step of ``space``: decide under the lock, then carry out the decision in the fixed order."""
        runner = self.spaces[space]
        async with self._lock:
            now = self._now()
            own, actions = decide(runner, now)
            self.steps += 1
            await self.executor.execute(runner, actions, now, own)

    async def inputs(self, space: str, inputs: Sequence[SessionInput],
                     record: Sequence[records.Record] = ()) -> None:
        """The common step: session inputs, with the input's own records (stored first)."""
        await self.step(space, lambda runner, now: (record, [a for event in inputs
                                                              for a in runner.session.handle(event, now)]))

    async def evaluate(self, space: str, record: Sequence[records.Record] = ()) -> None:
        """Gas evaluated again and the session's clock moved (a tick, a start, after a poll's readings)."""
        await self.step(space, lambda runner, now: (record, runner.session.handle(runner.gas_update(now), now)))
