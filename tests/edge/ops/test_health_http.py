"""The operations endpoint over real loopback TCP: health JSON, metrics text, and HTTP edge cases."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio

from edge.ops.health import Health
from edge.ops.http import MAX_HEAD_BYTES, OpsServer
from edge.ops.metrics import Registry
from tests.rig.waiting import eventually


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def server() -> AsyncIterator[OpsServer]:
    health = Health()
    health.register("core", critical=True)
    health.register("uplink")
    registry = Registry()
    registry.counter("safegrid_alarms_total", "Alarms raised.", ["cause"]).inc(cause="gas_level2")
    ops = OpsServer(health, registry)
    await ops.start()
    yield ops
    await ops.close()


async def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        response = await reader.read()  # the server closes after one response
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split(" ")[1]), headers, body


async def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return await raw_request(port, f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())


async def test_healthz_is_503_until_every_component_is_ok(server: OpsServer) -> None:
    status, headers, body = await get(server.port, "/healthz")
    assert status == 503 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["ok"] is False and doc["alive"] is False
    assert doc["components"]["core"] == {"ok": False, "critical": True, "detail": "starting: no report yet"}

    server.health.report("core", True, "tick")
    server.health.report("uplink", False, "broker unreachable")
    status, _, body = await get(server.port, "/healthz")
    doc = json.loads(body)
    assert status == 503 and doc["alive"] is True and doc["components"]["uplink"]["detail"] == "broker unreachable"

    server.health.report("uplink", True)
    status, headers, body = await get(server.port, "/healthz?verbose=1")
    assert status == 200 and json.loads(body)["ok"] is True
    assert int(headers["content-length"]) == len(body) and headers["connection"] == "close"


async def test_metrics_text(server: OpsServer) -> None:
    status, headers, body = await get(server.port, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b'safegrid_alarms_total{cause="gas_level2"} 1\n' in body


async def test_head_has_headers_and_no_body(server: OpsServer) -> None:
    status, headers, body = await get(server.port, "/metrics", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


async def test_errors(server: OpsServer) -> None:
    assert (await get(server.port, "/nowhere"))[0] == 404
    status, headers, _ = await get(server.port, "/metrics", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert (await raw_request(server.port, b"garbage\r\n\r\n"))[0] == 400
    assert (await raw_request(server.port, b"GET /metrics HTTP/2.0\r\n\r\n"))[0] == 505
    oversized = b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
    assert (await raw_request(server.port, oversized))[0] == 431


async def test_a_real_http_client_in_a_thread(server: OpsServer) -> None:
    server.health.report("core", True)
    server.health.report("uplink", True)

    def fetch() -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        status, content_type, body = await asyncio.get_running_loop().run_in_executor(pool, fetch)
    assert status == 200 and content_type == "application/json" and json.loads(body)["ok"] is True


async def test_close_ends_idle_connections(server: OpsServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /metr")  # a client that never finishes its request
    await writer.drain()
    await eventually(lambda: server.connections == 1)
    await server.close()
    assert server.connections == 0
    # The server hung up without answering: a FIN, or a reset when our bytes were still unread.
    with contextlib.suppress(ConnectionResetError):
        assert await reader.read() == b""
    writer.close()
    with contextlib.suppress(ConnectionResetError):
        await writer.wait_closed()


def test_binding_a_non_loopback_address_is_refused() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        OpsServer(Health(), Registry(), host="0.0.0.0")
    OpsServer(Health(), Registry(), host="::1")  # IPv6 loopback is fine


def test_critical_component_that_stops_reporting_is_not_alive() -> None:
    clock = FakeClock()
    health = Health(clock)
    health.register("core", critical=True, max_age_s=10)
    health.register("detector-1")
    health.report("core", True)
    health.report("detector-1", False, "comm fault")
    assert health.alive()  # a non-critical fault never stops the watchdog
    clock.now += 11
    assert not health.alive()
    assert health.component("core").detail.startswith("no report for 11.0 s")
    health.report("core", True)
    assert health.alive()
    with pytest.raises(ValueError, match="already registered"):
        health.register("core")
    with pytest.raises(KeyError):
        health.report("nobody", True)
