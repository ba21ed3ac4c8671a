"""The localhost operations endpoint: ``GET /healthz`` (JSON) and ``GET /metrics`` (Prometheus text).

Deliberately tiny HTTP/1.1 on ``asyncio.start_server`` (no web framework on the gateway): GET and HEAD only
(405 otherwise), 404 for other paths, one request per connection (``Connection: close``), the request head
bounded in size (431) and in time (a silent client is dropped), and a cap on simultaneous connections. It binds
a loopback address only: the endpoint has no authentication, so it must not be reachable from the site network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from email.utils import formatdate

import structlog

from edge.ops.health import Health
from edge.ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from edge.ops.metrics import Registry

log = structlog.get_logger(__name__)

MAX_HEAD_BYTES = 8 * 1024
HEAD_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 16

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable",
            505: "HTTP Version Not Supported"}


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the operations endpoint binds loopback only, not {host!r}")


def _response(status: int, body: bytes, content_type: str, *, head_only: bool = False,
              extra: dict[str, str] | None = None) -> bytes:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
               "Cache-Control": "no-store", "Date": formatdate(usegmt=True), **(extra or {})}
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def _text(status: int, message: str) -> bytes:
    return _response(status, (message + "\n").encode(), "text/plain; charset=utf-8")


class OpsServer:
    """Serves health and metrics; ``await start()``, read :attr:`port`, ``await close()``."""

    def __init__(self, health: Health, registry: Registry, *, host: str = "127.0.0.1", port: int = 0) -> None:
        _require_loopback(host)
        self.health = health
        self.registry = registry
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the operations server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """Connections being served now."""
        return len(self._handlers)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port, limit=MAX_HEAD_BYTES)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        # Python 3.11's wait_closed does not wait for open connections: hang up on them (the handler sees the end
        # of its stream and returns) so nothing is left behind.
        for writer in self._handlers.values():
            writer.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        try:
            if len(self._handlers) > MAX_CONNECTIONS:
                writer.write(_text(503, "too many connections"))
            else:
                writer.write(await self._answer(reader))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        finally:
            self._handlers.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return _text(408, "request head not received in time")
        except asyncio.LimitOverrunError:
            return _text(431, f"request head larger than {MAX_HEAD_BYTES} bytes")
        except asyncio.IncompleteReadError as exc:
            if len(exc.partial) >= MAX_HEAD_BYTES:
                return _text(431, f"request head larger than {MAX_HEAD_BYTES} bytes")
            raise
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return _text(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            return _text(505, "only HTTP/1.0 and HTTP/1.1")
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/metrics"):
            return _text(404, f"no such resource: {path}")
        if method not in ("GET", "HEAD"):
            return _response(405, b"GET or HEAD only\n", "text/plain; charset=utf-8", extra={"Allow": "GET, HEAD"})
        head_only = method == "HEAD"
        if path == "/metrics":
            return _response(200, self.registry.render().encode(), METRICS_CONTENT_TYPE, head_only=head_only)
        snapshot = self.health.snapshot()
        body = json.dumps(snapshot, sort_keys=True).encode()
        return _response(200 if snapshot["ok"] else 503, body, "application/json", head_only=head_only)
