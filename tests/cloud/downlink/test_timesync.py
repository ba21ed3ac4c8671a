"""The cloud as the gateways' time source: a freshly signed ``time`` command with a gateway's HTTP poll and in the
MQTT publisher's rounds, once per interval, ahead of the commands the gateway has not accepted yet — checked with
the protocol's verifier and with the edge's own command gate and clock trust."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.publish
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cloud.db.engine import Database
from cloud.devices.models import Gateway, GatewayStatus
from cloud.downlink.counters import store
from cloud.downlink.models import DownlinkCommand
from cloud.downlink.mqtt import BrokerSettings, MqttPublisher
from cloud.downlink.publisher import publish_pending, run_forever
from cloud.downlink.service import enqueue_command, to_ms
from cloud.downlink.settings import DownlinkSettings
from cloud.downlink.timesync import HTTP, MQTT, ClockAsks, TimeSync, gateways_due_over_mqtt, stamp_name
from cloud.keys.service import Keyring, KeyStore, install, keys_dir
from cloud.settings import CloudSettings
from edge.clocktrust import ClockTrust, Reading
from edge.downlink import CommandGate, CounterStore
from edge.downlink.gate import CommandRejected
from edge.uplink import MqttConfig
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.mosquitto import MosquittoBroker
from protocols import topics
from protocols.commands import SignedCommand, TimeSet, decode_poll, verify_command
from protocols.uplink import Ack, Status, make_status
from tests.cloud.conftest import Clock, Logins
from tests.cloud.permits.site import Site, Subscriber
from tests.cloud.permits.test_permit_flow import enrol, keys_of
from tests.rig.waiting import eventually

URL = "/api/v1/gateways/gw-e1/commands"
CONFIG = {"version": 1, "settings": {}}


class EdgeSide:
    """What a gateway does with the commands it receives: its command gate (signature, counter, channel, and the
    clock rule: without a trusted clock only ``time`` passes) and its clock trust, fed each accepted time command
    as ``edge.clocktrust.ClockKeeper.take_time`` does for one echoing no request of its own — these polls send
    none, so the lifetime bounds the delivery delay (uplink spec 5.5; ``test_time_precision`` has the echo)."""

    def __init__(self, keys: dict[bytes, Ed25519PublicKey], state: Path) -> None:
        self.keys = keys
        self.state = state
        self.trust = ClockTrust()

    def reading(self) -> Reading:
        return Reading(time.monotonic(), 0, "boot-1")  # the wall clock of a Pi without RTC: worthless

    def trusted_ms(self) -> int | None:
        reading = self.reading()
        return None if self.trust.why_untrusted(reading) is not None else self.trust.trusted(reading).wall_ms

    def take(self, signed: Sequence[bytes | SignedCommand]) -> list[str]:
        """Each command's kind when accepted, else the gate's refusal code."""
        return asyncio.run(self._take(signed))

    async def _take(self, signed: Sequence[bytes | SignedCommand]) -> list[str]:
        store = await CounterStore.open(self.state)
        try:
            gate = CommandGate(store, self.keys, gateway="gw-e1", clock_ms=self.trusted_ms)
            outcome = []
            for wire in signed:
                try:
                    command = await gate.accept(wire, "down")
                except CommandRejected as exc:
                    outcome.append(exc.code)
                    continue
                if isinstance(command, TimeSet):
                    lifetime = command.expires_at_ms - command.issued_at_ms
                    self.trust = self.trust.on_cloud_time(command.body.time_ms, self.reading(),
                                                          delay_bound_ms=float(lifetime))
                outcome.append(command.kind)
            return outcome
        finally:
            await store.close()

    @property
    def last(self) -> int:
        async def read() -> int:
            store = await CounterStore.open(self.state)
            try:
                return store.last("down")
            finally:
                await store.close()
        return asyncio.run(read())


def poll(client: TestClient, token: str, after: int, *, clock: str | None = None) -> list[SignedCommand]:
    params: dict[str, str | int] = {"after": after} if clock is None else {"after": after, "clock": clock}
    r = client.get(URL, params=params, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return decode_poll(r.content)


@pytest.fixture
def gateway(client: TestClient, as_user: Logins, site: Site, keyring: Keyring) -> str:
    """gw-e1 enrolled; its device token."""
    return str(enrol(client, as_user, "gw-e1")["device_token"])


@pytest.fixture
def edge(client: TestClient, tmp_path: Path) -> EdgeSide:
    return EdgeSide(keys_of(client, "command"), tmp_path / "edge-counters.db")


def test_a_polling_gateway_gets_a_fresh_signed_time_once_per_interval(client: TestClient, gateway: str,
                                                                      edge: EdgeSide, clock: Clock) -> None:
    first = poll(client, gateway, 0)
    assert len(first) == 1
    # The protocol's verifier with no clock (a gateway that trusts none) accepts only a time command.
    command = verify_command(first[0], edge.keys, gateway_id="gw-e1", last_counter=0, now_ms=None)
    assert isinstance(command, TimeSet)
    assert command.body.time_ms == command.issued_at_ms == to_ms(clock.now)
    assert command.expires_at_ms - command.issued_at_ms == 60_000  # downlink.time_ttl_s
    # A lost answer: polled again at once, the same command while it lives — not a second one.
    assert poll(client, gateway, 0) == first
    assert edge.trusted_ms() is None
    assert edge.take(first) == ["time"]
    trusted = edge.trusted_ms()
    assert trusted is not None and 0 <= trusted - to_ms(clock.now) <= 60_000
    assert edge.take(first) == ["replayed"]

    clock.advance(599)
    assert poll(client, gateway, edge.last) == []  # not again within the interval
    clock.advance(1)
    again = poll(client, gateway, edge.last)
    second = verify_command(again[0], edge.keys, gateway_id="gw-e1", last_counter=edge.last, now_ms=to_ms(clock.now))
    assert len(again) == 1 and isinstance(second, TimeSet) and second.body.time_ms == to_ms(clock.now)
    assert second.counter > command.counter
    assert edge.take(again) == ["time"]


def test_the_time_leads_the_commands_not_yet_accepted(client: TestClient, gateway: str, edge: EdgeSide,
                                                      database: Database, clock: Clock) -> None:
    """A gateway without a trusted clock refuses all but ``time`` and then counts every lower counter as used:
    commands queued before the time is due are re-issued behind it, bodies and expiry unchanged."""
    with database.session(write=True) as db:
        for version in (1, 2):
            enqueue_command(db, gateway_id="gw-e1", kind="config", body={**CONFIG, "version": version},
                            now=clock.now, ttl=timedelta(hours=2))
        db.commit()
    clock.advance(5)
    polled = poll(client, gateway, 0)
    commands = []
    last = 0
    for n, wire in enumerate(polled):
        commands.append(verify_command(wire, edge.keys, gateway_id="gw-e1", last_counter=last,
                                       now_ms=None if n == 0 else to_ms(clock.now)))
        last = commands[-1].counter
    assert [c.kind for c in commands] == ["time", "config", "config"]
    assert [c.counter for c in commands] == [3, 4, 5]  # 1 and 2 were replaced
    assert [c.body.version for c in commands[1:]] == [1, 2]  # type: ignore[union-attr]
    assert {(c.issued_at_ms, c.expires_at_ms) for c in commands[1:]} == {
        (to_ms(clock.now) - 5000, to_ms(clock.now) - 5000 + 2 * 3600_000)}
    assert edge.take(polled) == ["time", "config", "config"]  # the edge's gate, from an untrusted clock
    assert poll(client, gateway, 0) == polled  # within the interval nothing is signed again
    with database.session(write=False) as db:
        assert sorted(r.counter for r in db.query(DownlinkCommand).all()) == [3, 4, 5]


def test_a_time_command_behind_others_is_replaced_by_a_fresh_one_first(client: TestClient, gateway: str,
                                                                       edge: EdgeSide, database: Database,
                                                                       clock: Clock) -> None:
    """A time command queued by another path (the MQTT publisher) behind a command the poller has not accepted
    would make that command a replay at an untrusted gateway: the poll answers with a fresh time first."""
    assert edge.take(poll(client, gateway, 0)) == ["time"]
    edge.trust = ClockTrust()  # the gateway restarts without NTP
    with database.session(write=True) as db:
        enqueue_command(db, gateway_id="gw-e1", kind="config", body=CONFIG, now=clock.now)
        enqueue_command(db, gateway_id="gw-e1", kind="time", body={"time_ms": to_ms(clock.now)}, now=clock.now)
        db.commit()
    clock.advance(1)
    polled = poll(client, gateway, edge.last)
    fresh = verify_command(polled[0], edge.keys, gateway_id="gw-e1", last_counter=edge.last, now_ms=None)
    assert isinstance(fresh, TimeSet) and fresh.counter == 4 and fresh.body.time_ms == to_ms(clock.now)
    assert edge.take(polled) == ["time", "config"]


def test_a_gateway_polling_with_an_untrusted_clock_gets_a_time_at_once_at_most_every_5_s(
        client: TestClient, gateway: str, edge: EdgeSide, database: Database, clock: Clock) -> None:
    """A gateway that restarted without NTP lets no one in until a time command arrives: its poll says so and the
    cloud answers with one within the interval — rate-limited, and still ahead of what it has not accepted."""
    assert edge.take(poll(client, gateway, 0)) == ["time"]
    clock.advance(60)
    assert poll(client, gateway, edge.last) == []  # without the flag nothing changes within the interval
    assert poll(client, gateway, edge.last, clock="trusted") == []  # nor with the clock said trusted
    edge.trust = ClockTrust()  # the gateway restarts without NTP
    with database.session(write=True) as db:
        enqueue_command(db, gateway_id="gw-e1", kind="config", body=CONFIG, now=clock.now)
        db.commit()
    asked = poll(client, gateway, edge.last, clock="untrusted")
    fresh = verify_command(asked[0], edge.keys, gateway_id="gw-e1", last_counter=edge.last, now_ms=None)
    assert isinstance(fresh, TimeSet) and fresh.body.time_ms == to_ms(clock.now)
    assert edge.take(asked) == ["time", "config"]  # the config queued before was re-issued behind the time

    edge.trust = ClockTrust()  # and again (or a gateway that keeps asking): not a second one within 5 s
    clock.advance(4.9)
    assert poll(client, gateway, edge.last, clock="untrusted") == []
    clock.advance(0.1)
    again = poll(client, gateway, edge.last, clock="untrusted")
    assert len(again) == 1
    second = verify_command(again[0], edge.keys, gateway_id="gw-e1", last_counter=edge.last, now_ms=None)
    assert isinstance(second, TimeSet) and second.body.time_ms == to_ms(clock.now)
    # Lost answer: asked again at once, the same command while it lives, nothing signed anew.
    clock.advance(1)
    assert poll(client, gateway, edge.last, clock="untrusted") == again
    assert edge.take(again) == ["time"]
    assert edge.trusted_ms() is not None
    r = client.get(URL, params={"after": edge.last, "clock": "unsure"}, headers={"Authorization": f"Bearer {gateway}"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.clock"


def test_a_polled_time_command_echoes_the_polls_time_request(client: TestClient, gateway: str,
                                                              edge: EdgeSide) -> None:
    """Uplink spec 5.5: the time command signed for a poll echoes that poll's ``time_request``; handed out again
    (a lost answer) it keeps the echo it was signed with, which only makes the gateway's measured round trip
    longer. A request that is not a token is refused."""
    headers = {"Authorization": f"Bearer {gateway}"}
    r = client.get(URL, params={"after": 0, "time_request": "1234-00aa"}, headers=headers)
    assert r.status_code == 200, r.text
    [wire] = decode_poll(r.content)
    command = verify_command(wire, edge.keys, gateway_id="gw-e1", last_counter=0, now_ms=None)
    assert isinstance(command, TimeSet) and command.body.echo == "1234-00aa"
    r = client.get(URL, params={"after": 0, "time_request": "1300-00bb"}, headers=headers)
    assert decode_poll(r.content) == [wire]
    r = client.get(URL, params={"after": 0, "time_request": "no spaces"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.time_request"


def test_clock_asks_keep_the_latest_time_request_of_an_online_gateway() -> None:
    asks = ClockAsks(clock=Clock())
    assert asks.request("gw-e1") is None
    asks.status("gw-e1", make_status("gw-e1", online=True, clock_trusted=True, time_request="1-aa"))
    asks.status("gw-e1", make_status("gw-e1", online=True, clock_trusted=True, time_request="2-bb"))
    assert asks.request("gw-e1") == "2-bb" and asks.pending() == {}  # a trusted clock asks nothing
    asks.status("gw-e1", make_status("gw-e1", online=True))  # no request said: the last one stands
    assert asks.request("gw-e1") == "2-bb"
    asks.status("gw-e1", make_status("gw-e1", online=False))  # gone: its requests with it
    assert asks.request("gw-e1") is None


def test_an_asking_poll_counts_the_time_sent_over_mqtt(client: TestClient, gateway: str, edge: EdgeSide,
                                                       database: Database, clock: Clock) -> None:
    """The rate limit is per gateway: a time command the MQTT publisher signed for it a moment ago counts."""
    assert edge.take(poll(client, gateway, 0)) == ["time"]
    clock.advance(60)
    with database.session(write=True) as db:
        store(db, stamp_name("gw-e1", MQTT), to_ms(clock.now) - 2000)
        db.commit()
    assert poll(client, gateway, edge.last, clock="untrusted") == []
    clock.advance(3)
    assert len(poll(client, gateway, edge.last, clock="untrusted")) == 1


def test_the_mqtt_publisher_sends_a_fresh_time_to_active_gateways_once_per_interval(
        database: Database, site: Site, settings: CloudSettings, keyring: Keyring, clock: Clock,
        mosquitto: MosquittoBroker) -> None:
    store = install(KeyStore(keys_dir(settings.data_dir)))
    keys = {keyring.command.kid: keyring.command.public}
    with database.session(write=True) as db:
        gateway = db.get(Gateway, "gw-e1")
        assert gateway is not None
        gateway.status = GatewayStatus.ACTIVE  # enrolled; gw-e2 is not: it gets nothing
        enqueue_command(db, gateway_id="gw-e1", kind="config", body=CONFIG, now=clock.now)
        db.commit()
    sync = TimeSync.from_settings(DownlinkSettings(), clock=clock, keystore=store)
    received: queue.Queue[Any] = queue.Queue()
    gw = Subscriber(mosquitto, topics.downlink_topic("gw-e1"), client_id="gw-e1-time")
    gw.client.on_message = lambda _c, _u, message: received.put(message)
    try:
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-t")) as pub:
            assert publish_pending(database, pub, now=clock.now, sync=sync) == 2
            first = [received.get(timeout=10) for _ in range(2)]
            assert publish_pending(database, pub, now=clock.now, sync=sync) == 0
            clock.advance(599)
            assert publish_pending(database, pub, now=clock.now, sync=sync) == 0
            clock.advance(1)
            assert publish_pending(database, pub, now=clock.now, sync=sync) == 1
            later = received.get(timeout=10)
    finally:
        gw.close()
    # In counter order: the command queued before the round, then the time signed in it.
    assert verify_command(first[0].payload, keys, gateway_id="gw-e1", last_counter=0,
                          now_ms=to_ms(clock.now)).kind == "config"
    command = verify_command(first[1].payload, keys, gateway_id="gw-e1", last_counter=1, now_ms=None)
    assert isinstance(command, TimeSet) and command.counter == 2
    assert command.body.time_ms == to_ms(clock.now) - 600_000
    # The broker was told to drop it rather than deliver it after its lifetime.
    assert 0 < first[1].properties.MessageExpiryInterval <= 60
    assert first[0].properties.MessageExpiryInterval > 60  # a 24 h command: what is left of its lifetime
    again = verify_command(later.payload, keys, gateway_id="gw-e1", last_counter=2, now_ms=to_ms(clock.now))
    assert isinstance(again, TimeSet) and again.body.time_ms == to_ms(clock.now)


def activate(database: Database, clock: Clock, *, mqtt_sent_s_ago: float) -> None:
    """gw-e1 active and sent a time command over MQTT that long ago (so not due one within the interval)."""
    with database.session(write=True) as db:
        gateway = db.get(Gateway, "gw-e1")
        assert gateway is not None
        gateway.status = GatewayStatus.ACTIVE
        store(db, stamp_name("gw-e1", MQTT), to_ms(clock.now) - int(mqtt_sent_s_ago * 1000))
        db.commit()


def untrusted(gateway: str = "gw-e1") -> Status:
    return make_status(gateway, online=True, clock_trusted=False)


def test_the_publisher_answers_an_ask_at_once_at_most_every_5_s(database: Database, site: Site,
                                                                settings: CloudSettings, keyring: Keyring,
                                                                clock: Clock, mosquitto: MosquittoBroker) -> None:
    store_ = install(KeyStore(keys_dir(settings.data_dir)))
    keys = {keyring.command.kid: keyring.command.public}
    activate(database, clock, mqtt_sent_s_ago=60)
    sync = TimeSync.from_settings(DownlinkSettings(), clock=clock, keystore=store_)
    asks = ClockAsks(clock=clock)
    gw = Subscriber(mosquitto, topics.downlink_topic("gw-e1"), client_id="gw-e1-asks")
    try:
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-a")) as pub:
            def round_() -> int:
                return publish_pending(database, pub, now=clock.now, sync=sync, asks=asks)

            assert round_() == 0  # not due: sent a minute ago
            asks.status("gw-e1", untrusted())
            assert round_() == 1 and asks.pending() == {}  # within the interval: asked, answered, settled
            command = verify_command(gw.next(), keys, gateway_id="gw-e1", last_counter=0, now_ms=None)
            assert isinstance(command, TimeSet) and command.body.time_ms == to_ms(clock.now)

            clock.advance(1)
            asks.status("gw-e1", untrusted())  # it asks again (another connection, or it failed to take it)
            asks.status("gw-e1", untrusted())  # a repeat changes nothing
            assert round_() == 0 and list(asks.pending()) == ["gw-e1"]  # not within 5 s of the last: kept
            clock.advance(3.9)
            assert round_() == 0
            clock.advance(0.1)
            assert round_() == 1 and asks.pending() == {}
            assert verify_command(gw.next(), keys, gateway_id="gw-e1", last_counter=command.counter,
                                  now_ms=None).counter > command.counter

            clock.advance(10)
            asks.status("gw-e1", untrusted())
            asks.status("gw-e1", make_status("gw-e1", online=True, clock_trusted=True))  # withdrawn
            asks.status("gw-e2", untrusted("gw-e2"))  # not active: dropped
            assert round_() == 0 and asks.pending() == {}
            asks.status("gw-e1", untrusted())
            asks.status("gw-e1", make_status("gw-e1", online=False))  # gone: withdrawn too
            asks.status("gw-e1", make_status("gw-e1", online=True))  # an older gateway says nothing: no ask
            assert asks.pending() == {}

            asks.status("gw-e1", untrusted())
            with database.session(write=True) as db:  # answered meanwhile by its poll (or another publisher)
                store(db, stamp_name("gw-e1", HTTP), to_ms(clock.now))
                db.commit()
            clock.advance(10)
            assert round_() == 0 and asks.pending() == {}
    finally:
        gw.close()
    assert gw.messages.empty()


async def test_a_gateway_reporting_an_untrusted_clock_gets_a_time_over_mqtt_at_once(
        database: Database, site: Site, settings: CloudSettings, keyring: Keyring, clock: Clock,
        mosquitto: MosquittoBroker) -> None:
    """The real gateway uplink and the real publisher loop: the gateway connects with an untrusted clock, its
    retained status says so, and the publisher — its next round a minute away, the interval ten — sends it a
    freshly signed time command at once; the gateway's status then says its clock is trusted."""
    store_ = install(KeyStore(keys_dir(settings.data_dir)))
    keys = {keyring.command.kid: keyring.command.public}
    activate(database, clock, mqtt_sent_s_ago=60)
    sync = TimeSync.from_settings(DownlinkSettings(), clock=clock, keystore=store_)
    asks = ClockAsks(clock=clock)
    statuses: list[Status] = []

    def on_status(gateway_id: str, status: Status) -> None:
        if gateway_id == "gw-e1":  # the shared broker may hold other tests' retained statuses
            statuses.append(status)
        asks.status(gateway_id, status)

    async def no_acks(_payload: bytes) -> Ack | None:
        return None

    trusted = {"now": False}
    stop = threading.Event()
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port, insecure=True, keepalive_s=5,
                        reconnect_initial_s=0.05, reconnect_max_s=0.5)
    try:
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-ask"),
                           on_status=on_status) as pub:
            worker = threading.Thread(target=run_forever, args=(database, pub), name="downlink-test",
                                      kwargs={"clock": clock, "interval_s": 60.0, "stop": stop.is_set, "sync": sync,
                                              "asks": asks})
            worker.start()
            try:
                uplink = MqttUplink(config, gateway="gw-e1", verify_ack=no_acks, epoch=1,
                                    clock_trusted=lambda: trusted["now"])
                async with uplink:
                    wire = await asyncio.wait_for(uplink.next_command(), 10)
                    assert isinstance(wire, bytes)
                    uplink.command_handled()
                    command = verify_command(wire, keys, gateway_id="gw-e1", last_counter=0, now_ms=None)
                    assert isinstance(command, TimeSet) and command.body.time_ms == to_ms(clock.now)
                    assert statuses[0].online and statuses[0].clock_trusted is False
                    trusted["now"] = True  # as the gateway's clock keeper would, having taken it
                    await eventually(lambda: statuses[-1].clock_trusted is True, timeout_s=10)
                    assert statuses[-1].online and asks.pending() == {}
            finally:
                stop.set()
                asks.wake()
                worker.join(10)
    finally:
        paho.mqtt.publish.single(topics.status_topic("gw-e1"), None, retain=True, hostname=mosquitto.host,
                                 port=mosquitto.port)  # leave no retained status on the shared broker
    assert not worker.is_alive()


def test_who_the_publisher_owes_a_time_command(database: Database, site: Site, clock: Clock) -> None:
    """Active gateways without an MQTT time within the interval — but not those that fetch theirs by HTTP."""
    sync = TimeSync.from_settings(DownlinkSettings(), clock=clock)

    def due() -> list[str]:
        with database.session(write=False) as db:
            return gateways_due_over_mqtt(db, now=clock.now, sync=sync)

    assert due() == []  # neither is enrolled yet
    with database.session(write=True) as db:
        for gateway_id in ("gw-e1", "gw-e2"):
            gateway = db.get(Gateway, gateway_id)
            assert gateway is not None
            gateway.status = GatewayStatus.ACTIVE
        db.commit()
    assert due() == ["gw-e1", "gw-e2"]
    with database.session(write=True) as db:
        store(db, stamp_name("gw-e1", MQTT), to_ms(clock.now))
        store(db, stamp_name("gw-e2", HTTP), to_ms(clock.now) - 300_000)  # it polls
        db.commit()
    assert due() == []
    clock.advance(600)
    assert due() == ["gw-e1"]  # gw-e2 fetched one by HTTP within two intervals
    clock.advance(600)
    assert due() == ["gw-e1", "gw-e2"]  # it stopped polling
    with database.session(write=True) as db:
        store(db, stamp_name("gw-e1", MQTT), to_ms(clock.now) + 3600_000)  # the cloud's clock was set back
        db.commit()
    assert due() == ["gw-e1", "gw-e2"]


def test_the_time_settings_are_validated() -> None:
    assert DownlinkSettings() == DownlinkSettings(time_interval_s=600, time_ttl_s=60)
    for bad in ({"time_ttl_s": 61}, {"time_ttl_s": 0}, {"time_interval_s": 0}, {"time_interval_s": 86_401},
                {"time_interval_s": 30, "time_ttl_s": 31}, {"time_interval_s": 600.5}):
        with pytest.raises(ValidationError):
            DownlinkSettings.model_validate(bad)
    assert DownlinkSettings(time_interval_s=5, time_ttl_s=3).time_ttl_s == 3
