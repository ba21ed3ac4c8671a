"""Fixtures of the ingestion tests: settings with a data dir (cloud keys live there), cloud keys, two enrolled
gateways — gw-e1 of enterprise E1 and gw-e2 of E2 — with their device tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.db.engine import Database
from cloud.keys.service import KeyStore
from cloud.settings import CloudSettings
from fwsim.stage.world import World
from tests.cloud.conftest import Clock, make_settings
from tests.cloud.ingest.helpers import add_gateway, install_keys


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> CloudSettings:
    base = make_settings(db_url)
    return base.model_copy(update={"data_dir": tmp_path / "data", "ingest": base.ingest.model_copy(
        update={"max_batch_bytes": 256 * 1024})})


@pytest.fixture
def keystore(settings: CloudSettings, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> KeyStore:
    return install_keys(settings.data_dir, clock.now, monkeypatch)


@pytest.fixture
def tokens(database: Database, world: World, clock: Clock, keystore: KeyStore) -> dict[str, str]:
    return {"gw-e1": add_gateway(database, gateway_id="gw-e1", enterprise_id=world["E1"], now=clock.now),
            "gw-e2": add_gateway(database, gateway_id="gw-e2", enterprise_id=world["E2"], now=clock.now)}
