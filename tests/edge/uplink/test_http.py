"""The HTTP uplink against a tiny real HTTP/1.1 server on loopback that stores batches, acks and serves commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest_asyncio

from edge.downlink import CommandGate, Downlink
from edge.outbox import Outbox
from edge.uplink import BatchConfig, HttpConfig, Sender, UplinkConfig, UplinkKind, open_uplink
from edge.uplink.http import HttpUplink
from fwsim.stage.receiver import Stream
from protocols.commands import Command, encode_poll
from protocols.uplink import decode_envelope, encode_ack, make_ack
from protocols.vectorgen import seeded_key
from tests.edge.downlink.commands import alarm_ack
from tests.edge.uplink.conftest import BASE_MS, GATEWAY, append_records
from tests.rig.waiting import eventually


class TinyCloud:
    """Just enough of the cloud's HTTP API: POST batches (answered with the ack), GET commands."""

    def __init__(self) -> None:
        self.stream = Stream()
        self.fail_next = 0  # answer this many batch POSTs with 503 first
        self.commands: list[tuple[int, bytes]] = []  # (counter, signed wire bytes)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.duplicates = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while request_line := await reader.readline():
                method, target, _version = request_line.decode().split()
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((method, target, headers))
                status, payload = self._route(method, target, body)
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _route(self, method: str, target: str, body: bytes) -> tuple[str, bytes]:
        url = urlsplit(target)
        if method == "POST" and url.path == f"/api/v1/gateways/{GATEWAY}/batches":
            if self.fail_next > 0:
                self.fail_next -= 1
                return "503 Service Unavailable", b'{"code":"unavailable"}'
            envelope = decode_envelope(body, gateway=GATEWAY)
            for record in envelope.records:
                if self.stream.has(record.seq):
                    self.duplicates += 1
                    continue
                self.stream.records[record.seq] = record
                self.stream.order.append(record.seq)
                self.stream.account(record.seq, record.last_seq)
            return "200 OK", encode_ack(make_ack(GATEWAY, envelope.epoch, self.stream.watermark))
        if method == "GET" and url.path == f"/api/v1/gateways/{GATEWAY}/commands":
            after = int(parse_qs(url.query)["after"][0])
            return "200 OK", encode_poll([wire for counter, wire in self.commands if counter > after])
        return "404 Not Found", b'{"code":"not_found"}'


@pytest_asyncio.fixture
async def cloud() -> AsyncIterator[TinyCloud]:
    server = TinyCloud()
    yield server
    await server.stop()


async def test_batches_over_http_are_acked_retried_and_deleted(cloud: TinyCloud, outbox: Outbox,
                                                               gate: CommandGate) -> None:
    base_url = await cloud.start()
    cloud.fail_next = 1  # the store is briefly unavailable: 503, retried with backoff
    config = UplinkConfig(backend=UplinkKind.HTTP,
                          http=HttpConfig(base_url=base_url, insecure=True, poll_interval_s=60),
                          batch=BatchConfig(max_records=100, max_linger_s=0.01, compress=True,
                                            backoff_initial_s=0.05))
    uplink = open_uplink(config, gateway=GATEWAY, epoch=outbox.epoch, verify_ack=gate.verify_ack,
                         last_down_counter=lambda: gate.store.last("down"))
    assert isinstance(uplink, HttpUplink)
    sender = Sender(outbox, uplink, config.batch)
    async with uplink:
        sender.start()
        try:
            await append_records(outbox, 1, 250)
            sender.notify()
            await asyncio.wait_for(sender.wait_acked(250), 30)
        finally:
            await sender.stop()
    assert cloud.stream.watermark == 250 and sorted(cloud.stream.records) == list(range(1, 251))
    assert all(record.at_ms == BASE_MS + seq for seq, record in cloud.stream.records.items())
    assert await outbox.pending(10) == []
    posts = [headers for method, _target, headers in cloud.requests if method == "POST"]
    assert len(posts) >= 4  # the refused one, then 100 + 100 + 50
    assert all(h["content-encoding"] == "gzip" and h["content-type"] == "application/json" for h in posts)


async def test_commands_are_polled_verified_and_dispatched(cloud: TinyCloud, gate: CommandGate, tmp_path: Path) -> None:
    base_url = await cloud.start()
    cloud.commands = [(1, alarm_ack(1, gateway=GATEWAY, key=seeded_key("uplink-test-cloud"), alarm_id="a-1")),
                      (2, alarm_ack(2, gateway=GATEWAY, key=seeded_key("not-the-cloud"), alarm_id="forged")),
                      (3, alarm_ack(3, gateway=GATEWAY, key=seeded_key("uplink-test-cloud"), alarm_id="a-3"))]
    uplink = HttpUplink(HttpConfig(base_url=base_url, insecure=True, poll_interval_s=0.05), gateway=GATEWAY,
                        last_down_counter=lambda: gate.store.last("down"))
    handled: list[Command] = []

    async def on_alarm_ack(command: Command) -> None:
        handled.append(command)

    downlink = Downlink(uplink, gate)
    downlink.register("alarm_ack", on_alarm_ack)
    async with uplink:
        downlink.start()
        try:
            await eventually(lambda: any("after=3" in target for _m, target, _h in cloud.requests), timeout_s=15)
        finally:
            await downlink.stop()
    assert [c.body.alarm_id for c in handled] == ["a-1", "a-3"]
    assert gate.rejected == {"unknown_kid": 1}
    polls = [target for method, target, _h in cloud.requests if method == "GET"]
    assert polls[0].endswith("after=0")


async def test_the_poll_asks_for_the_time_only_while_untrusted(cloud: TinyCloud, gate: CommandGate) -> None:
    """``clock=untrusted`` on the command poll makes the cloud send a time command at once (uplink spec §7); a
    gateway that trusts its clock must not ask, or the cloud would sign for nothing."""
    base_url = await cloud.start()
    trusted = False
    uplink = HttpUplink(HttpConfig(base_url=base_url, insecure=True, poll_interval_s=0.05), gateway=GATEWAY,
                        last_down_counter=lambda: gate.store.last("down"), clock_trusted=lambda: trusted)

    def polls() -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(target).query) for method, target, _h in cloud.requests if method == "GET"]

    async with uplink:
        await eventually(lambda: len(polls()) >= 2, timeout_s=15)
        trusted = True  # a time command was taken (or NTP synced)
        asked = len(polls())
        await eventually(lambda: len(polls()) >= asked + 3, timeout_s=15)
    seen = polls()
    assert all(q == {"after": ["0"], "clock": ["untrusted"]} for q in seen[:2])
    assert all(q == {"after": ["0"]} for q in seen[asked + 1:])  # one poll may have been on its way meanwhile


async def test_a_poll_without_a_clock_source_never_asks(cloud: TinyCloud, gate: CommandGate) -> None:
    base_url = await cloud.start()
    uplink = HttpUplink(HttpConfig(base_url=base_url, insecure=True, poll_interval_s=0.05), gateway=GATEWAY,
                        last_down_counter=lambda: gate.store.last("down"))
    async with uplink:
        await eventually(lambda: sum(method == "GET" for method, _t, _h in cloud.requests) >= 2, timeout_s=15)
    assert all("clock" not in target for method, target, _h in cloud.requests if method == "GET")
