"""Real processes for the MQTT ingestion tests: ``safegrid-cloud ingest-mqtt`` workers started from a config
file, and test-side gateways that publish batches on their uplink topics and verify the cloud's signed acks
exactly as a gateway does (protocols.commands.verify_command on the ack channel)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion

from protocols import topics
from protocols.commands import AckCommand, verify_command
from protocols.errors import EnvelopeError
from tests.cloud.test_cli import cloud_exe


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


def write_config(path: Path, *, data_dir: Path, db_url: str, host: str, port: int) -> Path:
    path.write_text(f'data_dir = "{data_dir}"\n[database]\nurl = "{db_url}"\n'
                    f'[ingest]\ngroup_max_messages = 8\n[ingest.mqtt]\nhost = "{host}"\nport = {port}\n'
                    "[alerts]\nrules_interval_s = 3600\nmqtt_notify = false\n")
    return path


class Worker:
    """One ``safegrid-cloud ingest-mqtt`` process; its JSON log lines go to a file."""

    def __init__(self, config: Path, log_path: Path, name: str) -> None:
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen([cloud_exe(), "--json-logs", "ingest-mqtt", "--config", str(config),
                                      "--client-id", name], env=env, stdout=subprocess.DEVNULL, stderr=self._log)

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def wait_subscribed(self, timeout_s: float = 60) -> None:
        def subscribed() -> bool:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            return any(e.get("event") == "ingest_mqtt_subscribed" for e in self.events())

        wait_for(subscribed, timeout_s, "the worker's subscription")

    def stop(self) -> int:
        """SIGTERM and wait; returns how many records it says it stored."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
        stored = [e["stored"] for e in self.events() if e.get("event") == "ingest_worker_stopped"]
        return int(stored[-1]) if stored else -1  # type: ignore[arg-type]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._log.close()


class Gateways:
    """Gateways as the cloud sees them on MQTT: batches up, signed acks down."""

    def __init__(self, host: str, port: int, keys: dict[bytes, Ed25519PublicKey], names: list[str]) -> None:
        self.keys = keys
        self.names = names
        self.watermarks = dict.fromkeys(names, 0)
        self.counters = dict.fromkeys(names, 0)
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-gateways", protocol=paho.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_args: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(30):
            self.close()
            raise AssertionError("the test gateways could not subscribe")

    def _on_connect(self, client: paho.Client, *_args: object) -> None:
        client.subscribe([(topics.ack_topic(n), topics.QOS) for n in self.names])

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        gateway = topics.parse_topic(message.topic).gateway
        with self._lock:
            try:
                command = verify_command(bytes(message.payload), self.keys, gateway_id=gateway,
                                         last_counter=self.counters[gateway], now_ms=int(time.time() * 1000),
                                         channel="ack")
            except EnvelopeError as exc:
                self.refused.append(exc.code)  # "replayed" when two workers' acks cross: harmless
                return
            assert isinstance(command, AckCommand)
            self.counters[gateway] = command.counter
            self.watermarks[gateway] = max(self.watermarks[gateway], command.body.watermark)

    def publish(self, gateway: str, payload: bytes) -> None:
        self._client.publish(topics.uplink_topic(gateway), payload, qos=topics.QOS).wait_for_publish(30)

    def acked(self, targets: dict[str, int]) -> bool:
        with self._lock:
            return all(self.watermarks[g] >= last for g, last in targets.items())

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
