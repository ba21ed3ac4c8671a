"""Downlink dispatch: the one path every signed cloud command takes, whether the uplink received it or a person
relayed it through the console.

:class:`CommandDispatcher` passes a command through the gate, hands it to the handler registered for its kind
and reports the outcome as a ``command_result`` event (protocols/uplink.md 5.3): ``applied`` or the code it
failed with. A command the gate refuses is reported too when its envelope can be read and names this gateway
(:func:`readable_command`), so the cloud can tell "refused" from "never arrived"; an unreadable one, or one
for another gateway, is only logged. Refusal reports are bounded (:data:`REFUSAL_REPORTS_PER_MIN`, each
``(counter, code)`` once) so a flood of replays or forgeries cannot fill the outbox.
:class:`Downlink` is the uplink's loop feeding the dispatcher.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from edge.downlink.gate import CommandGate, CommandRejected
from edge.errors import EdgeError
from edge.outbox import Outbox
from edge.tasks import OwnedTask
from edge.uplink.base import InboundCommand, Uplink
from protocols import crypto
from protocols.commands import COMMAND_ADAPTER, COMMAND_KINDS, DOWN_CHANNEL, MAX_COSE_BYTES, SIGNED_ADAPTER, Command
from protocols.errors import ProtocolError
from protocols.uplink import make_record
from protocols.uplink.envelope import MAX_SMALL_MESSAGE_BYTES, unwrap
from protocols.uplink.fields import b64url_decode, parse_json

log = structlog.get_logger(__name__)

Handler = Callable[[Command], Awaitable[None]]
#: Called with (counter, kind, result, verified) for every command reported: result "applied" or a code;
#: ``verified`` False when the signature did not verify (``unknown_kid``, ``bad_signature``).
ResultReporter = Callable[[int, str, str, bool], Awaitable[None]]

DOWN_KINDS = tuple(kind for kind in COMMAND_KINDS if kind != "ack")  # acks go to the uplink, not to handlers
UNVERIFIED = frozenset({"unknown_kid", "bad_signature"})  # refused before the signature held: content unproven
REFUSAL_REPORTS_PER_MIN = 20


def readable_command(data: InboundCommand, gateway: str) -> Command | None:
    """The command inside ``data`` if its envelope decodes and its payload is a well-formed command naming
    ``gateway`` — whether or not its signature verifies; None otherwise (nothing about it can be reported)."""
    try:
        signed = data if not isinstance(data, bytes | bytearray) else parse_json(
            SIGNED_ADAPTER, unwrap(bytes(data), max_bytes=MAX_SMALL_MESSAGE_BYTES), what="signed command")
        sign1 = crypto.decode_sign1(b64url_decode(signed.cose, field="cose"), max_bytes=MAX_COSE_BYTES)
        command: Command = parse_json(COMMAND_ADAPTER, sign1.payload, what="command")
    except (ProtocolError, ValueError, TypeError):
        return None
    return command if command.gateway == gateway else None


class CommandDispatcher:
    """Verify, dispatch, report. Register handlers before the first command."""

    def __init__(self, gate: CommandGate, *, report: ResultReporter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gate = gate
        self._report = report
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self.results: list[tuple[int, str, str]] = []  # the last outcomes, newest last (bounded)
        self._reported: OrderedDict[tuple[int, str], None] = OrderedDict()
        self._window: list[float] = []  # monotonic times of the refusal reports in the last minute
        self.refusals_unreported = 0

    def register(self, kind: str, handler: Handler) -> None:
        if kind not in DOWN_KINDS:
            raise ValueError(f"no downlink command kind {kind!r} (kinds: {', '.join(DOWN_KINDS)})")
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    async def handle(self, data: InboundCommand) -> str:
        """Verify and dispatch one command; returns "applied" or the code it was refused or failed with."""
        try:
            command = await self.gate.accept(data, DOWN_CHANNEL)
        except CommandRejected as exc:
            await self._refused(data, exc.code)
            return exc.code
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
        await self._emit(command.counter, command.kind, result, True)
        return result

    async def _refused(self, data: InboundCommand, code: str) -> None:
        command = readable_command(data, self.gate.gateway)
        if command is None:
            return  # unreadable or for another gateway: the gate's log line is all there is
        now = self._clock()
        self._window = [t for t in self._window if now - t < 60.0]
        key = (command.counter, code)
        if key in self._reported or len(self._window) >= REFUSAL_REPORTS_PER_MIN:
            self.refusals_unreported += 1
            return
        self._window.append(now)
        self._reported[key] = None
        while len(self._reported) > 256:
            self._reported.popitem(last=False)
        await self._emit(command.counter, command.kind, code, code not in UNVERIFIED)

    async def _emit(self, counter: int, kind: str, result: str, verified: bool) -> None:
        self.results = [*self.results[-99:], (counter, kind, result)]
        if self._report is None:
            return
        try:
            await self._report(counter, kind, result, verified)
        except Exception:  # the report is a record like any other: its failure must not stop the next command
            log.exception("command_result_not_recorded", counter=counter, kind=kind, result=result)


class Downlink:
    """Owns one task, ``downlink-<gateway>``: every command the uplink receives goes to the dispatcher."""

    def __init__(self, uplink: Uplink, gate: CommandGate | None = None, *, report: ResultReporter | None = None,
                 dispatcher: CommandDispatcher | None = None) -> None:
        if dispatcher is None:
            if gate is None:
                raise ValueError("a Downlink needs a gate or a dispatcher")
            dispatcher = CommandDispatcher(gate, report=report)
        self.uplink = uplink
        self.dispatcher = dispatcher
        self._task = OwnedTask(f"downlink-{uplink.gateway}")

    @property
    def results(self) -> list[tuple[int, str, str]]:
        return self.dispatcher.results

    def register(self, kind: str, handler: Handler) -> None:
        self.dispatcher.register(kind, handler)

    def start(self) -> None:
        self._task.start(self._run)

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            data = await self.uplink.next_command()
            try:
                await self.dispatcher.handle(data)
            finally:
                self.uplink.command_handled()

    async def handle(self, data: InboundCommand) -> str:
        return await self.dispatcher.handle(data)


def result_body(counter: int, kind: str, result: str, verified: bool = True) -> dict[str, Any]:
    """The ``command_result`` event's data (protocols/uplink.md 5.3)."""
    data: dict[str, Any] = {"counter": counter, "kind": kind, "result": result}
    if not verified:
        data["verified"] = False
    return data


def outbox_reporter(outbox: Outbox, *, clock_ms: Callable[[], int] | None = None) -> ResultReporter:
    """Report each outcome as an ``event`` record of type ``command_result`` through the outbox."""
    now_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)

    async def report(counter: int, kind: str, result: str, verified: bool = True) -> None:
        at_ms = now_ms()
        body = {"type": "command_result", "data": result_body(counter, kind, result, verified)}
        make_record(outbox.last_seq + 1, "event", at_ms, body)  # validated before it is stored, as every record
        await outbox.append("event", at_ms, body)

    return report
