"""The MQTT 5 backend (paho-mqtt 2.x): QoS 1, persistent session, TLS client certificate, last will.

paho runs its network loop in one thread this backend owns (``mqtt-<gateway>``); that thread re-enters
asyncio only through ``loop.call_soon_threadsafe``. The thread reconnects by itself with exponential backoff
and jitter (paho's own reconnect has no jitter, and a fleet coming back after an outage must not retry in step).

A PUBACK only means the broker has the batch. A batch is done when the cloud's signed ``ack`` command on the
ack topic, checked by the injected verifier, says its watermark covers it: the futures of pending batches are
keyed by (epoch, last seq) and resolved by the first such ack.

Given ``clock_trusted``, the retained online status also says whether the gateway trusts its wall clock. A task
(``mqtt-clock-<gateway>``) checks it every second — trust also lapses by itself as drift accumulates, so there
is no event to wait for — and publishes a fresh status when it changes, and every minute while it is untrusted:
``online`` with ``clock_trusted: false`` is how the gateway asks the cloud for a signed ``time`` command at once
(uplink spec §6), rather than waiting up to the cloud's interval while it refuses every other command. Given
``time_request``, every online status carries a fresh time request, which the cloud echoes in its next ``time``
command so the gateway can measure the delivery (§5.5).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.tasks import OwnedTask
from edge.uplink.backoff import Backoff
from edge.uplink.base import AckVerifier, Batch, Uplink
from edge.uplink.config import MqttConfig
from edge.uplink.errors import UplinkError, UplinkUnavailable
from protocols import topics
from protocols.uplink import Ack, encode_status, make_status
from protocols.uplink.envelope import CONTENT_TYPE

log = structlog.get_logger(__name__)

LOOP_TIMEOUT_S = 1.0  # how long one paho loop() may block in select (publish() wakes it earlier)
ACK_INBOX_SIZE = 1024  # signed acks waiting for verification; more means the cloud floods us: drop them
OFFLINE_STATUS_WAIT_S = 2.0  # on a clean close, how long to wait for the broker to take the offline status
THREAD_STOP_WAIT_S = 5.0
CLOCK_CHECK_S = 1.0  # how often the clock's trust is looked at (a cheap read of the clocks)
CLOCK_ASK_AGAIN_S = 60.0  # while untrusted, ask again this often (an answer lost or refused must not wait 10 min)


class MqttUplink(Uplink):
    """Uplink over MQTT 5. ``verify_ack`` turns a signed ack command into an Ack (or None: refused);
    ``clock_trusted`` tells whether the gateway trusts its wall clock (None: not said in the status), looked at
    every ``clock_check_s``; while untrusted, the status asks for the time again every ``clock_ask_again_s``."""

    def __init__(self, config: MqttConfig, *, gateway: str, verify_ack: AckVerifier, epoch: int | None = None,
                 client_id: str | None = None, software: str | None = None,
                 clock_ms: Callable[[], int] | None = None, clock_trusted: Callable[[], bool] | None = None,
                 time_request: Callable[[], str] | None = None, clock_check_s: float = CLOCK_CHECK_S,
                 clock_ask_again_s: float = CLOCK_ASK_AGAIN_S) -> None:
        super().__init__(topics.check_gateway_id(gateway))
        if not (clock_check_s > 0 and clock_ask_again_s > 0):
            raise UplinkError("clock_check_s and clock_ask_again_s must be positive")
        self.config = config
        self._verify_ack = verify_ack
        self._epoch = epoch
        self._software = software
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._up_topic = topics.uplink_topic(gateway)
        self._ack_topic = topics.ack_topic(gateway)
        self._down_topic = topics.downlink_topic(gateway)
        self._status_topic = topics.status_topic(gateway)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or gateway,
                                   protocol=paho.MQTTv5)
        self._publish_props = Properties(PacketTypes.PUBLISH)
        self._publish_props.ContentType = CONTENT_TYPE
        self._waiters: dict[tuple[int, int], asyncio.Future[Ack]] = {}
        self._ack_inbox: asyncio.Queue[bytes] = asyncio.Queue(ACK_INBOX_SIZE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread_finished = asyncio.Event()
        self._pump = OwnedTask(f"mqtt-acks-{self.gateway}")
        self._closed = False
        self._offline_mid: int | None = None
        self._offline_published = asyncio.Event()
        self._clock_trusted_now = clock_trusted
        self._time_request = time_request  # called on paho's thread too (on connect): it only reads the clocks
        self._clock_trusted: bool | None = None  # the last value read: what a status says (read by paho's thread)
        self._clock_said: bool | None = None  # what the last online status handed to paho said
        self._clock_said_at = 0.0  # when (monotonic s)
        self._clock_check_s, self._clock_ask_again_s = clock_check_s, clock_ask_again_s
        self._clock_watch = OwnedTask(f"mqtt-clock-{self.gateway}")
        self.connects = 0  # successful CONNACKs, for diagnostics and tests

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._thread is not None:
            raise UplinkError("the MQTT uplink is already started")
        self._loop = asyncio.get_running_loop()
        client = self._client
        offline = encode_status(make_status(self.gateway, online=False))
        client.will_set(self._status_topic, offline, qos=topics.QOS, retain=True)
        tls = self.config.effective_tls
        if tls is None:
            log.warning("uplink_plaintext", backend="mqtt", host=self.config.host, port=self.config.port,
                        detail="insecure = true: records and commands travel unencrypted")
        else:
            client.tls_set(ca_certs=_path(tls.ca_file), certfile=_path(tls.cert_file), keyfile=_path(tls.key_file))
        client.max_inflight_messages_set(self.config.max_inflight_messages)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        connect_props = Properties(PacketTypes.CONNECT)
        connect_props.SessionExpiryInterval = self.config.session_expiry_s
        # connect_async only records the parameters; the network thread makes every attempt.
        client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s,
                             clean_start=False, properties=connect_props)
        self._pump.start(self._ack_pump)
        if self._clock_trusted_now is not None:
            self._clock_trusted = self._clock_trusted_now()  # before connecting: the first status says it
            self._clock_watch.start(self._watch_clock)
        self._thread = threading.Thread(target=self._network, name=f"mqtt-{self.gateway}", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._closed or self._thread is None:
            return
        self._closed = True
        await self._clock_watch.stop()
        if self.connected:
            info = self._client.publish(self._status_topic, self._status_payload(False, self._clock_trusted),
                                        qos=topics.QOS, retain=True)
            self._offline_mid = info.mid  # set before any PUBACK callback can reach the loop
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._offline_published.wait(), OFFLINE_STATUS_WAIT_S)
        self._stop.set()
        self._client.disconnect()  # a normal DISCONNECT: the broker drops the will (we said offline ourselves)
        try:
            await asyncio.wait_for(self._thread_finished.wait(), THREAD_STOP_WAIT_S)
        except TimeoutError:
            log.error("mqtt_thread_stuck", gateway=self.gateway)
        self._thread.join(timeout=1.0)
        self._client._reset_sockets()  # paho keeps its wake-up socket pair open until garbage collection
        await self._pump.stop()
        self._link_down("closed")

    # -- the network thread ----------------------------------------------------------------------------------

    def _network(self) -> None:
        backoff = Backoff(self.config.reconnect_initial_s, self.config.reconnect_max_s)
        client = self._client
        try:
            while not self._stop.is_set():
                try:
                    client.reconnect()
                except OSError as exc:  # refused, unreachable, TLS handshake failed …
                    self._to_loop(self._link_down, f"connect failed: {exc}")
                else:
                    connects = self.connects
                    while not self._stop.is_set() and client.loop(LOOP_TIMEOUT_S) == MQTTErrorCode.MQTT_ERR_SUCCESS:
                        pass
                    if self.connects != connects:
                        backoff.reset()  # it was up for a while: start again from the shortest delay
                if not self._stop.is_set():
                    self._stop.wait(backoff.next_delay())
        finally:
            self._to_loop(self._thread_finished.set)

    def _to_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """The one way back from paho's thread into asyncio."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the event loop is closed: nobody is listening any more
            loop.call_soon_threadsafe(fn, *args)

    # paho callbacks: they run in the network thread.

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: ReasonCode,
                    properties: Any) -> None:
        if reason_code.is_failure:
            self._to_loop(self._link_down, f"connection refused: {reason_code}")
            return
        self.connects += 1
        # Subscribe every time: a broker that lost our session (crash, no persistence) lost the subscriptions.
        client.subscribe([(name, topics.QOS) for name in topics.gateway_subscriptions(self.gateway)])
        clock_trusted = self._clock_trusted
        client.publish(self._status_topic, self._status_payload(True, clock_trusted), qos=topics.QOS, retain=True)
        self._to_loop(self._link_up, bool(getattr(flags, "session_present", False)), clock_trusted)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: ReasonCode,
                       properties: Any) -> None:
        self._to_loop(self._link_down, f"disconnected: {reason_code}")

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._to_loop(self._inbound, message.topic, message.payload)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason_code: ReasonCode,
                    properties: Any) -> None:
        self._to_loop(self._published, mid)

    # -- back in asyncio -------------------------------------------------------------------------------------

    def _link_up(self, session_present: bool, clock_trusted: bool | None = None) -> None:
        log.info("mqtt_connected", gateway=self.gateway, session_present=session_present)
        self._clock_said, self._clock_said_at = clock_trusted, time.monotonic()
        self._connected.set()

    async def _watch_clock(self) -> None:
        """Publish the online status again when the clock's trust changed since the last one said, and now and
        then while it is untrusted (asking the cloud for the time again). Only while connected: on connecting,
        paho's thread publishes the status with the value read last."""
        assert self._clock_trusted_now is not None
        while True:
            await asyncio.sleep(self._clock_check_s)
            trusted = self._clock_trusted_now()
            self._clock_trusted = trusted
            if not self.connected or self._closed:
                continue
            ask_again = not trusted and time.monotonic() - self._clock_said_at >= self._clock_ask_again_s
            if trusted != self._clock_said or ask_again:
                log.info("mqtt_status_clock", gateway=self.gateway, clock_trusted=trusted)
                self._client.publish(self._status_topic, self._status_payload(True, trusted), qos=topics.QOS,
                                     retain=True)
                self._clock_said, self._clock_said_at = trusted, time.monotonic()

    def _link_down(self, reason: str) -> None:
        if self._connected.is_set():
            (log.info if self._closed else log.warning)("mqtt_link_down", gateway=self.gateway, reason=reason)
        self._connected.clear()
        waiters, self._waiters = self._waiters, {}
        for future in waiters.values():
            if not future.done():
                future.set_exception(UplinkUnavailable(f"MQTT {reason}"))

    def _published(self, mid: int) -> None:
        if mid == self._offline_mid:
            self._offline_published.set()

    def _inbound(self, topic: str, payload: bytes) -> None:
        if topic == self._ack_topic:
            try:
                self._ack_inbox.put_nowait(payload)
            except asyncio.QueueFull:
                log.warning("mqtt_ack_dropped", gateway=self.gateway, reason="queue_full")
        elif topic == self._down_topic:
            self._command_received(payload)
        else:
            log.warning("mqtt_unexpected_topic", gateway=self.gateway, topic=topic)

    async def _ack_pump(self) -> None:
        while True:
            payload = await self._ack_inbox.get()
            ack = await self._verify_ack(payload)
            if ack is not None:
                self._resolve(ack)
                self._ack_received(ack)

    def _resolve(self, ack: Ack) -> None:
        for (epoch, last_seq), future in list(self._waiters.items()):
            # A gap means the cloud holds later records but not these: wake the sender to resend at once.
            if epoch == ack.epoch and not future.done() and (last_seq <= ack.watermark or ack.gaps):
                future.set_result(ack)

    # -- the facade ----------------------------------------------------------------------------------------

    async def submit(self, batch: Batch) -> asyncio.Future[Ack]:
        if not self.connected or self._closed:
            raise UplinkUnavailable("not connected to the MQTT broker")
        key = (batch.epoch, batch.last_seq)
        future = self._waiters.get(key)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiters[key] = future
            future.add_done_callback(partial(self._forget, key))
        info = self._client.publish(self._up_topic, batch.payload, qos=topics.QOS, properties=self._publish_props)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            # NO_CONN: paho queued it for the next connection and on_disconnect fails the future meanwhile.
            future.cancel()
            raise UplinkError(f"MQTT publish failed: {paho.error_string(info.rc)}")
        return future

    def _forget(self, key: tuple[int, int], future: asyncio.Future[Ack]) -> None:
        if self._waiters.get(key) is future:
            del self._waiters[key]

    async def publish_status(self, online: bool) -> None:
        if not self.connected:
            raise UplinkUnavailable("not connected to the MQTT broker")
        self._client.publish(self._status_topic, self._status_payload(online, self._clock_trusted), qos=topics.QOS,
                             retain=True)

    def _status_payload(self, online: bool, clock_trusted: bool | None) -> bytes:
        request = self._time_request() if online and self._time_request is not None else None
        return encode_status(make_status(self.gateway, online=online, at_ms=self._clock_ms(), epoch=self._epoch,
                                         software=self._software, clock_trusted=clock_trusted,
                                         time_request=request))


def _path(value: object) -> str | None:
    return None if value is None else str(value)
