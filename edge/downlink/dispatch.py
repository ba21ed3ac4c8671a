"""Downlink dispatch: take each command the uplink received, pass it through the gate, hand it to the
handler registered for its kind, and report the outcome (``command_result`` event, protocols/uplink.md 5.3).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog

from edge.downlink.gate import CommandGate, CommandRejected
from edge.errors import EdgeError
from edge.outbox import Outbox
from edge.tasks import OwnedTask
from edge.uplink.base import InboundCommand, Uplink
from protocols.commands import COMMAND_KINDS, DOWN_CHANNEL, Command
from protocols.uplink import make_record

log = structlog.get_logger(__name__)

Handler = Callable[[Command], Awaitable[None]]
#: Called with (counter, kind, result) for every accepted command: result "applied" or an error code.
ResultReporter = Callable[[int, str, str], Awaitable[None]]

DOWN_KINDS = tuple(kind for kind in COMMAND_KINDS if kind != "ack")  # acks go to the uplink, not to handlers


class Downlink:
    """Owns one task, ``downlink-<gateway>``. Register handlers before :meth:`start`."""

    def __init__(self, uplink: Uplink, gate: CommandGate, *, report: ResultReporter | None = None) -> None:
        self.uplink = uplink
        self.gate = gate
        self._report = report
        self._handlers: dict[str, Handler] = {}
        self._task = OwnedTask(f"downlink-{uplink.gateway}")
        self.results: list[tuple[int, str, str]] = []  # the last outcomes, newest last (bounded)

    def register(self, kind: str, handler: Handler) -> None:
        if kind not in DOWN_KINDS:
            raise ValueError(f"no downlink command kind {kind!r} (kinds: {', '.join(DOWN_KINDS)})")
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    def start(self) -> None:
        self._task.start(self._run)

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            data = await self.uplink.next_command()
            try:
                await self.handle(data)
            finally:
                self.uplink.command_handled()

    async def handle(self, data: InboundCommand) -> str:
        """Verify and dispatch one command; returns "applied" or the reason code it was refused or failed with."""
        try:
            command = await self.gate.accept(data, DOWN_CHANNEL)
        except CommandRejected as exc:
            return exc.code  # logged by the gate; its content cannot be trusted, so nothing else is reported
        handler = self._handlers.get(command.kind)
        if handler is None:
            result = "unsupported"
            log.warning("downlink_command_unhandled", kind=command.kind, counter=command.counter)
        else:
            try:
                await handler(command)
                result = "applied"
            except EdgeError as exc:
                result = exc.code
                log.warning("downlink_command_failed", kind=command.kind, counter=command.counter, code=exc.code,
                            error=str(exc))
            except Exception:  # a handler bug must not stop the downlink; the cloud sees the failure and re-issues
                result = "failed"
                log.exception("downlink_handler_crashed", kind=command.kind, counter=command.counter)
        self.results = [*self.results[-99:], (command.counter, command.kind, result)]
        if self._report is not None:
            await self._report(command.counter, command.kind, result)
        return result


def outbox_reporter(outbox: Outbox, *, clock_ms: Callable[[], int] | None = None) -> ResultReporter:
    """Report each outcome as an ``event`` record of type ``command_result`` through the outbox."""
    now_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)

    async def report(counter: int, kind: str, result: str) -> None:
        at_ms = now_ms()
        body = {"type": "command_result", "data": {"counter": counter, "kind": kind, "result": result}}
        make_record(outbox.last_seq + 1, "event", at_ms, body)  # validated before it is stored, as every record
        await outbox.append("event", at_ms, body)

    return report
