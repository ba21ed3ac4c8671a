"""Fixtures of the cloud tests: a real database (SQLite file, and PostgreSQL from the rig), a migrated app
with a controllable clock, a seeded world of areas, enterprises, spaces and users, and logins."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from cloud.app import create_app
from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.keys import service as keys_service
from cloud.settings import CloudSettings
from cloud.telemetry.factory import close_sink
from fwsim.stage.cloud import FAST_AUTH
from fwsim.stage.world import PASSWORD, World, seed_world

with warnings.catch_warnings():
    # Starlette's test client announces a future switch of HTTP library; nothing to act on here.
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from fastapi.testclient import TestClient



@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every database test runs on a SQLite file and on a fresh PostgreSQL database from the rig."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    return str(request.getfixturevalue("postgres_url"))


def make_settings(db_url: str, **auth: int) -> CloudSettings:
    return CloudSettings.model_validate({"database": {"url": db_url}, "auth": {**FAST_AUTH, **auth},
                                         "api": {"max_body_bytes": 64 * 1024, "max_import_bytes": 256 * 1024}})


@contextlib.contextmanager
def throwaway_app() -> Iterator[FastAPI]:
    """An app built by the real factory on a migrated SQLite file in a temp dir, closed and forgotten after
    (the key store it installs included): for reading what the app declares — routes, OpenAPI — not for requests."""
    previous_store = keys_service._default
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{tmp}/app.db").model_copy(update={"data_dir": Path(tmp)})
        db = Database.from_url(settings.database_url())
        upgrade(db.engine)
        db.dispose()
        app = create_app(settings)
        try:
            yield app
        finally:
            close_sink(app.state.telemetry_sink)
            app.state.database.dispose()
            keys_service._default = previous_store


@pytest.fixture
def settings(db_url: str) -> CloudSettings:
    return make_settings(db_url)


class Clock:
    """The app's time, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(settings: CloudSettings) -> Iterator[Database]:
    db = Database.from_url(settings.database_url())
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def world(database: Database, settings: CloudSettings, clock: Clock) -> World:
    return seed_world(database, settings, now=clock.now)


@pytest.fixture
def app(database: Database, settings: CloudSettings, clock: Clock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


class Logins:
    """Bearer headers per seeded username, logging in once each."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._cache: dict[str, dict[str, str]] = {}

    def __call__(self, username: str) -> dict[str, str]:
        if username not in self._cache:
            r = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._cache[username]


@pytest.fixture
def as_user(client: TestClient, world: World) -> Logins:
    return Logins(client)
