"""How close a gateway's clock comes to true time from a cloud ``time`` command, end to end: the real cloud app
served over loopback (HTTP) or the real publisher through a real Mosquitto (MQTT), the edge's real uplink, command
gate, ``time`` handler and clock keeper. The cloud's clock here is the machine's wall clock, so "true time" at the
gateway is the same wall clock; the gateway's own wall clock reads 0 (a Pi without RTC), so all it knows comes from
the command."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import paho.mqtt.publish
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cloud.db.engine import Database
from cloud.downlink.mqtt import BrokerSettings, MqttPublisher
from cloud.downlink.publisher import run_forever
from cloud.downlink.settings import DownlinkSettings
from cloud.downlink.timesync import ClockAsks, TimeSync
from cloud.keys.service import Keyring, KeyStore, install, keys_dir
from cloud.settings import CloudSettings
from edge.clocktrust import ClockKeeper, Reading
from edge.daemon.commands import CloudCommands
from edge.downlink import CommandGate, CounterStore
from edge.downlink.gate import CommandRejected
from edge.uplink import HttpConfig, MqttConfig
from edge.uplink.http import HttpUplink
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.mosquitto import MosquittoBroker
from protocols import crypto, topics
from protocols.commands import TimeSet, make_command, sign_command
from protocols.uplink import Ack
from tests.cloud.conftest import Clock, Logins
from tests.cloud.downlink.test_timesync import activate
from tests.cloud.permits.site import Site
from tests.cloud.permits.test_permit_flow import enrol, keys_of

#: Allowed beyond the bound for the instants the test itself reads around the measurement (same process).
MARGIN_MS = 50


class WallClock(Clock):
    """The cloud's clock is the machine's real wall clock: what the gateway estimates can be checked against it."""

    def __init__(self) -> None:
        pass

    @property  # type: ignore[override]
    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def clock() -> Clock:
    return WallClock()


def true_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Gateway:
    """The edge side: a clock keeper whose wall clock is worthless, the command gate, the daemon's handler."""

    keeper: ClockKeeper
    gate: CommandGate
    commands: CloudCommands

    async def take(self, wire: Any) -> TimeSet:
        command = await self.gate.accept(wire, "down")
        assert isinstance(command, TimeSet)
        await self.commands.time(command)
        return command

    def error_ms(self) -> tuple[int, int]:
        """The estimate's error against true time now, and the bound the keeper gives for it."""
        estimate = self.keeper.trust.estimate(self.keeper.reading())
        assert estimate is not None
        return estimate.wall_ms - true_ms(), estimate.uncertainty_ms


async def open_gateway(keys: Any, state: Path, *, gateway: str = "gw-e1") -> Gateway:
    async def no_ntp() -> None:
        return None

    keeper = ClockKeeper(boot_id="boot-1", ntp=no_ntp, clocks=lambda boot: Reading(time.monotonic(), 0, boot))
    store = await CounterStore.open(state)
    gate = CommandGate(store, keys, gateway=gateway, clock_ms=keeper.trusted_ms,
                       on_expired_time=keeper.takes_expired_time)
    # The command handlers act on a CommandPort; the time handler needs only take_time.
    port = SimpleNamespace(take_time=keeper.take_time)
    return Gateway(keeper, gate, CloudCommands(cast(Any, port)))


@pytest.fixture
def served(app: FastAPI, client: TestClient) -> Iterator[str]:
    """The app (already started by ``client``) also served by uvicorn on a loopback port: the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


async def test_over_http_the_gateway_clock_is_within_half_the_poll_round_trip(
        client: TestClient, as_user: Logins, site: Site, keyring: Keyring, served: str, tmp_path: Path) -> None:
    token = str(enrol(client, as_user, "gw-e1")["device_token"])
    (tmp_path / "token").write_text(token)
    gw = await open_gateway(keys_of(client, "command"), tmp_path / "counters.db")
    uplink = HttpUplink(HttpConfig(base_url=served, token_file=tmp_path / "token", poll_interval_s=0.05, insecure=True),
                        gateway="gw-e1", last_down_counter=lambda: gw.gate.store.last("down"),
                        clock_trusted=lambda: gw.keeper.trusted_ms() is not None,
                        time_request=gw.keeper.time_request)
    try:
        async with uplink:
            wire = await asyncio.wait_for(uplink.next_command(), 10)
            await gw.take(wire)
            uplink.command_handled()
            error_ms, bound_ms = gw.error_ms()
    finally:
        await gw.gate.store.close()
    assert abs(error_ms) <= bound_ms + MARGIN_MS, (error_ms, bound_ms)
    # The bound is half the measured round trip plus the cloud's own clock error (500 ms), not half the lifetime.
    assert bound_ms <= 500 + 1000, (error_ms, bound_ms)
    assert abs(error_ms) <= 1000, (error_ms, bound_ms)


async def test_over_mqtt_the_gateway_clock_is_within_half_the_request_round_trip(
        database: Database, site: Site, settings: CloudSettings, keyring: Keyring, clock: Clock,
        mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    store_ = install(KeyStore(keys_dir(settings.data_dir)))
    keys = {keyring.command.kid: keyring.command.public}
    activate(database, clock, mqtt_sent_s_ago=60)
    sync = TimeSync.from_settings(DownlinkSettings(), clock=clock, keystore=store_)
    asks = ClockAsks(clock=clock)

    async def no_acks(_payload: bytes) -> Ack | None:
        return None

    gw = await open_gateway(keys, tmp_path / "counters.db")
    stop = threading.Event()
    # No session kept on the shared broker: nothing published for gw-e1 here may reach a later test.
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port, insecure=True, keepalive_s=5,
                        reconnect_initial_s=0.05,
                        reconnect_max_s=0.5, session_expiry_s=0)
    try:
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-precision"),
                           on_status=asks.status) as pub:
            worker = threading.Thread(target=run_forever, args=(database, pub), name="downlink-test",
                                      kwargs={"clock": clock, "interval_s": 60.0, "stop": stop.is_set, "sync": sync,
                                              "asks": asks})
            worker.start()
            try:
                uplink = MqttUplink(config, gateway="gw-e1", client_id="gw-e1-precision", verify_ack=no_acks, epoch=1,
                                    clock_trusted=lambda: gw.keeper.trusted_ms() is not None,
                        time_request=gw.keeper.time_request)
                async with uplink:
                    wire = await asyncio.wait_for(uplink.next_command(), 10)
                    await gw.take(wire)
                    uplink.command_handled()
                    error_ms, bound_ms = gw.error_ms()
            finally:
                stop.set()
                asks.wake()
                worker.join(10)
    finally:
        await gw.gate.store.close()
        paho.mqtt.publish.single(topics.status_topic("gw-e1"), None, retain=True, hostname=mosquitto.host,
                                 port=mosquitto.port)  # leave no retained status on the shared broker
    assert abs(error_ms) <= bound_ms + MARGIN_MS, (error_ms, bound_ms)
    assert bound_ms <= 500 + 1000, (error_ms, bound_ms)
    assert abs(error_ms) <= 1000, (error_ms, bound_ms)


GW_STALE = "gw-stale"  # its own topics on the shared broker: nothing here reaches another test's gateway


def _time_wire(key: Any, kid: bytes, counter: int, *, signed_ms: int, lifetime_ms: int) -> bytes:
    command = make_command({"kind": "time", "gateway": GW_STALE, "counter": counter, "issued_at_ms": signed_ms,
                            "expires_at_ms": signed_ms + lifetime_ms, "body": {"time_ms": signed_ms}})
    return sign_command(command, key, kid=kid)


async def test_a_time_command_held_by_the_broker_past_its_lifetime_never_sets_the_clock_back(
        mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """The gateway is away (its persistent session kept by a real Mosquitto) while two 2-second time commands are
    published for it: one with the MQTT message expiry the cloud sets — the broker drops it — and one without (a
    broker or cloud that does not honour it) — delivered 3 s late. The gateway, its clock trusted, refuses that one
    as expired and its clock stays true: taking it would have set the clock about 2 s back."""
    key = crypto.generate_private_key()
    kid = crypto.key_id(key)
    gw = await open_gateway({kid: key.public_key()}, tmp_path / "counters.db", gateway=GW_STALE)
    gw.keeper.cloud_time(true_ms(), delay_bound_ms=20)  # trusted to ±0.51 s

    async def no_acks(_payload: bytes) -> Ack | None:
        return None

    config = MqttConfig(host=mosquitto.host, port=mosquitto.port, insecure=True, keepalive_s=5,
                        reconnect_initial_s=0.05,
                        reconnect_max_s=0.5, session_expiry_s=30)  # kept while away, gone soon after the test

    def uplink() -> MqttUplink:
        return MqttUplink(config, gateway=GW_STALE, verify_ack=no_acks, epoch=1,
                          clock_trusted=lambda: gw.keeper.trusted_ms() is not None,
                          time_request=gw.keeper.time_request)

    try:
        async with uplink() as first:
            await first.wait_connected()  # subscribed: the session now holds what is published for us
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-stale")) as pub:
            signed_ms = true_ms()
            pub.publish(GW_STALE, _time_wire(key, kid, 1, signed_ms=signed_ms, lifetime_ms=2000), expiry_s=1)
            pub.publish(GW_STALE, _time_wire(key, kid, 2, signed_ms=signed_ms, lifetime_ms=2000))
        await asyncio.sleep(3.0)
        async with uplink() as again:
            wire = await asyncio.wait_for(again.next_command(), 10)
            with pytest.raises(CommandRejected) as err:
                await gw.take(wire)
            again.command_handled()
            assert err.value.code == "expired"
            assert json.loads(wire)["v"] == 1 and gw.gate.rejected["expired"] == 1
            await asyncio.sleep(0.5)
            assert again._commands.empty()  # the one with the message expiry never came
        error_ms, bound_ms = gw.error_ms()
        assert abs(error_ms) <= bound_ms + MARGIN_MS and gw.gate.store.last("down") == 0
    finally:
        await gw.gate.store.close()
        paho.mqtt.publish.single(topics.status_topic(GW_STALE), None, retain=True, hostname=mosquitto.host,
                                 port=mosquitto.port)
