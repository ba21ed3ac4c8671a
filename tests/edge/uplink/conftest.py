"""Fixtures of the uplink tests: a test cloud key, an outbox, the command gate, the acking receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.downlink import CommandGate, CounterStore
from edge.outbox import Outbox
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.receiver import AckingReceiver
from protocols import crypto
from protocols.uplink import make_record
from protocols.vectorgen import seeded_key

GATEWAY = "gw-test-1"
BASE_MS = 1_767_225_600_000  # record i happens at BASE_MS + i: its at_ms tells which record it is


@pytest.fixture
def cloud_key() -> Ed25519PrivateKey:
    return seeded_key("uplink-test-cloud")


@pytest.fixture
def cloud_keys(cloud_key: Ed25519PrivateKey) -> dict[bytes, Ed25519PublicKey]:
    return {crypto.key_id(cloud_key): cloud_key.public_key()}


@pytest_asyncio.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = await Outbox.open(tmp_path / "outbox.db", epoch=3)
    yield box
    await box.close()


@pytest_asyncio.fixture
async def gate(tmp_path: Path, cloud_keys: dict[bytes, Ed25519PublicKey]) -> AsyncIterator[CommandGate]:
    store = await CounterStore.open(tmp_path / "downlink.db")
    yield CommandGate(store, cloud_keys, gateway=GATEWAY)
    await store.close()


@pytest.fixture
def receiver(mosquitto: MosquittoBroker, cloud_key: Ed25519PrivateKey) -> Iterator[AckingReceiver]:
    rx = AckingReceiver(mosquitto.host, mosquitto.port, cloud_key)
    rx.start()
    yield rx
    rx.stop()


def record_body(i: int) -> tuple[str, dict[str, Any]]:
    """The i-th test record: mostly telemetry, an alarm or an event now and then, each checkable by ``i``."""
    if i % 50 == 7:
        return "alarm", {"alarm_id": f"alarm-{i}", "state": "raised", "cause": "gas_level1", "level": 1,
                         "space_id": "space-1", "detail": f"record {i}"}
    if i % 50 == 21:
        return "event", {"type": "test_event", "space_id": "space-1", "data": {"i": i}}
    return "telemetry", {"space_id": "space-1", "detector_id": f"det-{i}",
                         "gases": [{"gas": "H2S", "value": i / 10, "unit": "ppm"}]}


async def append_records(box: Outbox, start: int, count: int) -> list[int]:
    """Append test records ``start .. start+count-1``, each validated first as the daemon does."""
    seqs = []
    for i in range(start, start + count):
        kind, body = record_body(i)
        make_record(box.last_seq + 1, kind, BASE_MS + i, body)
        seqs.append(box.append_nowait(kind, BASE_MS + i, body)[0])
    await box.flush()
    return seqs
