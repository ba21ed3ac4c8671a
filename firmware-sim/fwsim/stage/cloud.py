"""The cloud as a real service for the end-to-end tests and the demo: ``safegrid-cloud serve`` in its own process
on a SQLite file, its schema migrated, its keys made and the small city seeded (``fwsim.stage.world``) first —
what an operator does with ``safegrid-cloud migrate``, ``keys init`` and the registries before gateways come.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.keys.service import init_keys, keys_dir
from cloud.settings import CloudSettings
from fwsim.rig.processes import ManagedProcess, free_port
from fwsim.stage.world import World, seed_world

START_TIMEOUT_S = 60.0

#: argon2 at its minimum cost: a simulated site exercises the flow, not the hash's hardness.
FAST_AUTH = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}


@dataclass
class CloudProcess:
    base_url: str
    settings: CloudSettings
    database: Database  # the same SQLite file, for looking at what the API does not show
    world: World
    process: ManagedProcess

    def log_tail(self) -> str:
        return self.process.log_tail()


#: The cloud's signed time commands (``cloud.downlink.timesync``): short-lived, so the gateway's error bound — half
#: the lifetime — stays small; sent every few seconds, so a gateway that connects to the broker after the MQTT
#: publisher's first round (whose time command nobody received) is not left waiting ten minutes.
DOWNLINK = {"time_interval_s": 5, "time_ttl_s": 3}


def settings_for(root: Path) -> tuple[CloudSettings, str]:
    """The settings and the same as a TOML file's text (the served process reads the file)."""
    db_url = f"sqlite:///{root / 'cloud.db'}"
    auth = "\n".join(f"{k} = {v}" for k, v in FAST_AUTH.items())  # the flow, not the hash's hardness, is tested
    downlink = "\n".join(f"{k} = {v}" for k, v in DOWNLINK.items())
    text = (f'data_dir = "{root / "data"}"\n[database]\nurl = "{db_url}"\n[auth]\n{auth}\n'
            f'[downlink]\n{downlink}\n')
    data: dict[str, Any] = {"data_dir": str(root / "data"), "database": {"url": db_url}, "auth": FAST_AUTH,
                            "downlink": DOWNLINK}
    return CloudSettings.model_validate(data), text


async def _healthy(base_url: str, process: ManagedProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while True:
            process.check_alive()
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cloud did not become healthy:\n{process.log_tail()}")
            await asyncio.sleep(0.2)


def prepare(root: Path) -> tuple[CloudSettings, Path, Database, World]:
    """``safegrid-cloud migrate`` and ``keys init``, the settings file, and the seeded city."""
    root.mkdir(parents=True, exist_ok=True)
    settings, text = settings_for(root)
    config = root / "cloud.toml"
    config.write_text(text)
    database = Database.from_url(settings.database_url())
    upgrade(database.engine)
    init_keys(keys_dir(settings.data_dir), now=datetime.now(UTC))
    return settings, config, database, seed_world(database, settings, now=datetime.now(UTC))


@asynccontextmanager
async def running_cloud(root: Path) -> AsyncIterator[CloudProcess]:
    settings, config, database, world = prepare(root)
    port = free_port()
    process = ManagedProcess("safegrid-cloud", root / "serve.log")
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    process.start([sys.executable, "-m", "cloud.cli", "--log-level", "WARNING", "serve", "--config", str(config),
                   "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        base_url = f"http://127.0.0.1:{port}"
        await _healthy(base_url, process)
        yield CloudProcess(base_url, settings, database, world, process)
    finally:
        process.stop(timeout_s=20)
        database.dispose()


@asynccontextmanager
async def mqtt_workers(cloud: CloudProcess, host: str, port: int) -> AsyncIterator[None]:
    """``safegrid-cloud ingest-mqtt`` and ``downlink-mqtt`` on the cloud's database, against the broker."""
    root = cloud.settings.data_dir.parent
    config = str(root / "cloud.toml")
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    workers = [ManagedProcess(name, root / f"{name}.log") for name in ("ingest-mqtt", "downlink-mqtt")]
    base = [sys.executable, "-m", "cloud.cli", "--log-level", "WARNING"]
    try:
        workers[0].start([*base, "ingest-mqtt", "--config", config, "--broker-host", host, "--broker-port", str(port)],
                         env=env)
        workers[1].start([*base, "downlink-mqtt", "--config", config, "--broker-host", host, "--broker-port", str(port),
                          "--interval", "0.2"], env=env)
        await asyncio.sleep(1.0)  # connected and subscribed (a batch sent earlier waits in the gateway's outbox)
        for worker in workers:
            worker.check_alive()
        yield
    finally:
        for worker in workers:
            worker.stop(timeout_s=10)
