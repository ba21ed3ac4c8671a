"""Fixtures of the device, worker, permit and downlink tests: the seeded world plus keys, the extra users of the
permit workflow, a gateway with a padlock on SP1, qualified workers with phone keys, and helpers.

    E1: tech1 (technician, D1), appr1 (approver, E1), att1 (attendant, E1), worker1/worker2 (workers, E1)
    D1: reg1 (approver, D1 — the regulator's step); E2: appr2 (approver, E2)
    gw-e1 (E1) serves padlock LOCK1 on SP1; gw-e2 (E2) serves SP2's padlock
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.auth.passwords import Passwords
from cloud.auth.roles import Role, ScopeKind
from cloud.auth.schemas import UserCreate
from cloud.auth.users_service import create_user
from cloud.db.engine import Database
from cloud.devices import gateways_service, hardware_service
from cloud.devices.schemas import GatewayCreate, PadlockCreate
from cloud.keys.service import Keyring, init_keys, keys_dir
from cloud.settings import CloudSettings
from cloud.workers import service as workers_service
from cloud.workers.schemas import WorkerCreate
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.world import PASSWORD, World
from protocols import crypto
from tests.cloud.conftest import Clock, make_settings

TRAINED_UNTIL = date(2027, 12, 31)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> CloudSettings:
    """The cloud tests' settings, with a private data directory for the keys."""
    return make_settings(db_url).model_copy(update={"data_dir": tmp_path / "data"})


@pytest.fixture
def keyring(settings: CloudSettings, clock: Clock) -> Keyring:
    return init_keys(keys_dir(settings.data_dir), now=clock.now)


@dataclass
class Site:
    world: World
    phone: dict[str, Ed25519PrivateKey] = field(default_factory=dict)  # worker name → phone key
    lock_key: Ed25519PrivateKey = field(default_factory=crypto.generate_private_key)
    lock_id: str = "a1b2c3d4e5f60718"
    workers: dict[str, int] = field(default_factory=dict)  # W1, W2, ATT, W_E2

    def __getitem__(self, name: str) -> int:
        return self.workers[name] if name in self.workers else self.world[name]


def _user(db: object, passwords: Passwords, w: World, name: str, role: Role, kind: ScopeKind, scope: int,
          now: datetime) -> None:
    data = UserCreate(username=name, display_name=name, password=PASSWORD, role=role,
                      scope={"kind": kind, "id": scope})  # type: ignore[arg-type]
    w.ids[name] = create_user(db, actor=None, data=data, passwords=passwords, now=now).id  # type: ignore[arg-type]


@pytest.fixture
def site(world: World, database: Database, settings: CloudSettings, clock: Clock) -> Site:
    s = Site(world=world)
    now = clock.now
    passwords = Passwords(settings.auth)
    admin = world.admin
    assert admin is not None
    with database.session(write=True) as db:
        for name, role, kind, scope in (("tech1", Role.TECHNICIAN, ScopeKind.DISTRICT, world["D1"]),
                                        ("appr1", Role.APPROVER, ScopeKind.ENTERPRISE, world["E1"]),
                                        ("reg1", Role.APPROVER, ScopeKind.DISTRICT, world["D1"]),
                                        ("reg2", Role.APPROVER, ScopeKind.DISTRICT, world["D2"]),
                                        ("appr2", Role.APPROVER, ScopeKind.ENTERPRISE, world["E2"]),
                                        ("att1", Role.ATTENDANT, ScopeKind.ENTERPRISE, world["E1"]),
                                        ("worker2", Role.WORKER, ScopeKind.ENTERPRISE, world["E1"])):
            _user(db, passwords, world, name, role, kind, scope, now)
        for gw, ent in (("gw-e1", "E1"), ("gw-e2", "E2")):
            gateways_service.create_gateway(db, actor=admin, data=GatewayCreate(id=gw, enterprise_id=world[ent],
                                                                               name=gw), now=now)
        for lock_id, space, gw in ((s.lock_id, "SP1", "gw-e1"), ("0102030405060708", "SP2", "gw-e2")):
            hardware_service.create_device(db, actor=admin, now=now, data=PadlockCreate(
                lock_id=lock_id, label=f"PL-{space}", space_id=world[space], gateway_id=gw,
                public_key=crypto.public_raw(s.lock_key).hex()))
        for name, user, ent in (("W1", "worker1", "E1"), ("W2", "worker2", "E1"), ("ATT", "att1", "E1"),
                                ("W_E2", None, "E2")):
            s.phone[name] = crypto.generate_private_key()
            s.workers[name] = workers_service.create_worker(db, actor=admin, now=now, data=WorkerCreate(
                enterprise_id=world[ent], name=name, user_id=world[user] if user else None,
                phone_key=crypto.public_raw(s.phone[name]).hex(), training_valid_until=TRAINED_UNTIL,
                certificates=[{"kind": "confined_space_operation", "number": f"T-{name}",  # type: ignore[list-item]
                               "valid_until": TRAINED_UNTIL}])).id
        db.commit()
    return s


def permit_body(site: Site, clock: Clock, **over: object) -> dict[str, object]:
    start = clock.now + timedelta(minutes=30)
    body: dict[str, object] = {
        "space_id": site["SP1"], "kind": "operation", "work_start": start.isoformat(),
        "work_end": (start + timedelta(hours=4)).isoformat(), "max_continuous_minutes": 45,
        "gas_test_required": True, "attendant_id": site["ATT"], "entrant_ids": [site["W1"], site["W2"]],
        "required_certificates": ["confined_space_operation"],
        "risk_identification": [{"hazard": "toxic_gas", "measures": "通风并连续检测"}],
        "isolation": ["关闭进水阀"], "ventilation": "机械通风 30 分钟", "ppe": ["正压式空气呼吸器", "安全带"],
        "rescue_plan": "三脚架救援，监护人呼叫 119"}
    body.update(over)
    return body


class Subscriber:
    """A gateway-side MQTT client on the real broker collecting what arrives on one topic."""

    def __init__(self, broker: MosquittoBroker, topic: str, *, client_id: str, wait_s: float = 10.0) -> None:
        self.wait_s = wait_s
        self.messages: queue.Queue[bytes] = queue.Queue()
        subscribed: queue.Queue[int] = queue.Queue()
        connected: queue.Queue[object] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda _c, _u, _f, reason, _p: connected.put(reason)
        self.client.on_message = lambda _c, _u, message: self.messages.put(message.payload)
        self.client.on_subscribe = lambda _c, _u, mid, _r, _p: subscribed.put(mid)
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        connected.get(timeout=wait_s)
        _, mid = self.client.subscribe(topic, qos=1)
        assert subscribed.get(timeout=wait_s) == mid  # subscribed before anything is published

    def next(self) -> bytes:
        return self.messages.get(timeout=self.wait_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
