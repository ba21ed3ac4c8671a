"""The attendant console: a local Unix socket (mode 0600, in the state directory) speaking JSON lines.

It is how a hatch-side terminal or a technician talks to the daemon without the cloud: entrants in and out,
entry confirmed, alarms acknowledged or muted, and two self-authenticating relays — signed cloud commands
(checked by the same gate as the downlink) and padlock audit entries (checked against the lock's key and the
chain the gateway holds), e.g. carried by a phone. One request per line, one answer per line::

    {"op": "entrant_in", "space": "<space id>", "person": "w-17", "by": "attendant-3"}
    {"ok": true}

Ops: ``status``, ``entrant_in``, ``entrant_out``, ``confirm_entry``, ``confirm_empty`` (after a lost state: the
attendant has looked and nobody is inside), ``ack`` (``alarm_id``), ``ack_space``,
``mute`` (``alarm_id``, ``seconds``), ``command`` (``wire``: the signed command's text), ``audit`` (``lock_id``,
``entries``: base64url entries). A refused request answers ``{"ok": false, "error": code, "detail": …}``; an
acknowledgement follows the alarm desk's rules (``gas_present`` for a level-2 gas alarm while the gas is out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import structlog

from edge.daemon.ports import ConsolePort
from edge.errors import EdgeError
from protocols.errors import ProtocolError
from protocols.uplink.fields import b64url_decode

log = structlog.get_logger(__name__)

MAX_LINE = 256 * 1024


class ConsoleError(EdgeError):
    """A console request refused; ``code`` goes back as the answer's ``error``, ``detail`` as its text."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
        self.detail = detail


def _str(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ConsoleError("bad_request", f"{key} must be a non-empty string")
    return value


class Console:
    def __init__(self, gateway: ConsolePort, path: Path) -> None:
        self.gateway = gateway
        self.path = path
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a killed daemon
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
        finally:
            os.umask(old)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while line := await reader.readline():
                answer = await self.answer(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ConsoleError("bad_request", "one JSON object per line")
            return {"ok": True, **(await self._do(request))}
        except ConsoleError as exc:
            return {"ok": False, "error": exc.code, "detail": exc.detail}
        except ValueError as exc:  # a LimitError too: a request the core's rules cannot take is a bad request
            return {"ok": False, "error": "bad_request", "detail": str(exc)}
        except (EdgeError, ProtocolError) as exc:  # AlarmError and every other edge refusal carry their code
            return {"ok": False, "error": exc.code, "detail": str(exc)}

    async def _do(self, r: dict[str, Any]) -> dict[str, Any]:
        d = self.gateway
        op = r.get("op")
        if op == "status":
            return d.status()
        if op in ("entrant_in", "entrant_out", "confirm_entry", "confirm_empty", "ack_space"):
            space = _str(r, "space")
            if not d.has_space(space):
                raise ConsoleError("unknown_space", f"no space {space}")
            by = r.get("by", "attendant")
            by = by if isinstance(by, str) and by else "attendant"
            if op == "entrant_in":
                await d.entrant_in(space, _str(r, "person"), by)
            elif op == "entrant_out":
                await d.entrant_out(space, _str(r, "person"), by)
            elif op == "confirm_entry":
                await d.confirm_entry(space, by)
            elif op == "confirm_empty":
                await d.confirm_empty(space, by)
            else:
                return {"refused": await d.desk.acknowledge_space(space, by)}
            return {}
        if op in ("ack", "mute"):
            alarm_id = r.get("alarm_id")
            if not isinstance(alarm_id, int):
                raise ConsoleError("bad_request", "alarm_id must be an integer")
            by = _str(r, "by")
            if op == "ack":
                await d.desk.acknowledge(alarm_id, by)
            else:
                seconds = r.get("seconds")
                if not isinstance(seconds, int | float):
                    raise ConsoleError("bad_request", "seconds must be a number")
                await d.desk.mute(alarm_id, by, float(seconds))
            return {}
        if op == "command":
            return {"result": await d.submit_command(_str_any(r, "wire").encode())}
        if op == "audit":
            entries = r.get("entries")
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries) or len(entries) > 1000:
                raise ConsoleError("bad_request", "entries must be a list of base64url strings")
            new = await d.relay_audit(_str(r, "lock_id"), [b64url_decode(e, field="entries") for e in entries])
            return {"new": new}
        raise ConsoleError("unknown_op", f"no op {op!r}")


def _str_any(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise ConsoleError("bad_request", f"{key} must be a non-empty string")
    return value


async def call(path: str | Path, request: dict[str, Any], *, timeout_s: float = 10.0) -> dict[str, Any]:
    """One request to a running daemon's console (for tools, tests and the demo)."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path), limit=MAX_LINE), timeout_s)
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        return dict(json.loads(line))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
