"""The test rig: fixtures that start REAL parts (broker, database, serial line, BLE radio) and a leak guard.

Fixture names are a contract the whole suite codes against:

- ``mosquitto`` (session), ``mosquitto_fresh`` (function factory) — private Mosquitto brokers;
- ``postgres`` (session), ``postgres_url`` (function) — private PostgreSQL cluster, fresh database per test;
- ``serial_pty`` (function) — a serial line as two pty paths that can be unplugged and replugged;
- ``ble_radio`` (function, async) — in-process bumble LocalLink; ``ble_radio_tcp`` (function) — linked
  virtual controllers in a subprocess, reached over TCP (``indirect`` param = number of controllers);
- ``leak_guard`` (autouse) — fails a test that leaves threads, child processes or asyncio tasks behind.

A missing binary skips the tests that need it; under SAFEGRID_REQUIRE_SERVICES=1 it fails them.
How to use all this: docs/testing.md.
"""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import pytest
import pytest_asyncio

from fwsim.rig.availability import find_binary, find_postgres_bindir
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.rig.postgres import PostgresCluster
from fwsim.rig.serial_line import PtyLine
from tests.rig.availability import require_binary, service_unavailable
from tests.rig.leaks import LeakSnapshot, find_leaked_tasks, find_leaks

SOAK_SKIP_REASON = "soak test: run with --soak"
# Tests using these fixtures get the marker of the same name, so `-m "not postgres"` works.
_SERVICE_MARKERS = {"mosquitto": "mosquitto", "mosquitto_fresh": "mosquitto", "postgres": "postgres",
                    "postgres_url": "postgres"}


class _Service(Protocol):
    def pids(self) -> set[int]: ...


# Session-scoped services outlive every test: the leak guard must not count their processes.
_session_services: list[_Service] = []


def _session_service_pids() -> set[int]:
    return {pid for service in _session_services for pid in service.pids()}


# -- options, markers, reports ---------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", default=False, help="run long soak tests (marked `soak`)")


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml; repeated here so the hooks work when imported into another project.
    config.addinivalue_line("markers", "soak: long-running soak tests, run only with --soak")
    config.addinivalue_line("markers", "postgres: needs the private PostgreSQL cluster")
    config.addinivalue_line("markers", "mosquitto: needs the private Mosquitto broker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_soak = config.getoption("--soak")
    for item in items:
        if item.get_closest_marker("soak") and not run_soak:
            item.add_marker(pytest.mark.skip(reason=SOAK_SKIP_REASON))
        for fixture_name in getattr(item, "fixturenames", ()):
            if fixture_name in _SERVICE_MARKERS:
                item.add_marker(_SERVICE_MARKERS[fixture_name])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """On failure, attach the tail of the log of every rig service the test used."""
    report: pytest.TestReport = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            log_tail = getattr(value, "log_tail", None)
            if callable(log_tail):
                report.sections.append((f"{name} log (tail)", str(log_tail())))
    return report


# -- MQTT broker -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """The session's broker. A test that stops or kills it must start() it again, or use mosquitto_fresh."""
    binary = require_binary("mosquitto", "mosquitto")
    broker = MosquittoBroker(binary, tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    _session_services.append(broker)
    yield broker
    broker.stop()


class MosquittoFactory:
    """Starts brokers private to one test (free to kill); all are stopped at the test's end."""

    def __init__(self, binary: str, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._binary = binary
        self._tmp = tmp_path_factory
        self.brokers: list[MosquittoBroker] = []

    def __call__(self, port: int | None = None) -> MosquittoBroker:
        broker = MosquittoBroker(self._binary, self._tmp.mktemp("mosquitto-fresh"), port=port)
        self.brokers.append(broker)
        broker.start()
        return broker

    def stop_all(self) -> None:
        for broker in self.brokers:
            broker.stop()

    def log_tail(self) -> str:
        return "\n".join(f"[{broker!r}]\n{broker.log_tail()}" for broker in self.brokers)


@pytest.fixture
def mosquitto_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoFactory]:
    """Factory: ``broker = mosquitto_fresh()`` starts a broker only this test uses."""
    factory = MosquittoFactory(require_binary("mosquitto", "mosquitto"), tmp_path_factory)
    yield factory
    factory.stop_all()


# -- PostgreSQL --------------------------------------------------------------------------------
def _postgres_prerequisites() -> str:
    bindir = find_postgres_bindir()
    if bindir is None:
        service_unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
                            "`postgresql`")
    if os.geteuid() == 0:
        if find_binary("runuser") is None:
            service_unavailable("running as root needs `runuser` (util-linux) to start PostgreSQL as `postgres`")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            service_unavailable("running as root but there is no `postgres` OS user to run the cluster as")
    try:
        import psycopg  # noqa: F401  (only checking that the driver is installed)
    except ImportError:
        service_unavailable("psycopg is not installed: pip install 'safegrid[cloud]'")
    return bindir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster; ``postgres.create_database()`` returns a fresh database's URL."""
    cluster = PostgresCluster(_postgres_prerequisites())
    try:
        cluster.start()
        _session_services.append(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://…) of a fresh empty database, dropped after the test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url.rsplit("/", 1)[1])


# -- serial line -------------------------------------------------------------------------------
@pytest.fixture
def serial_pty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PtyLine]:
    """A plugged-in pty pair: ``.a`` and ``.b`` paths, ``.unplug()`` / ``.replug()``, ``.mode``."""
    line = PtyLine(tmp_path_factory.mktemp("serial"), find_binary("socat"))
    line.replug()
    yield line
    line.unplug()


# -- BLE radio ---------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def ble_radio() -> AsyncIterator[Any]:
    """In-process virtual radio: ``await ble_radio.powered_device("name", services=[...])``."""
    try:
        from fwsim.rig.radio import LocalRadio  # bumble is the sim extra: loaded only by tests that use it
    except ImportError as exc:
        service_unavailable(f"bumble is not installed ({exc}): pip install 'safegrid[sim]'")
    radio = LocalRadio()
    yield radio
    await radio.close()


@pytest.fixture
def ble_radio_tcp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Linked virtual controllers in a subprocess; ``.transports`` are tcp-client specs, one per controller.

    Two controllers by default; ``@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)`` for more.
    """
    try:
        from fwsim.rig.radio import TcpRadio
    except ImportError as exc:
        service_unavailable(f"bumble is not installed ({exc}): pip install 'safegrid[sim]'")
    radio = TcpRadio(tmp_path_factory.mktemp("radio"), count=getattr(request, "param", 2))
    radio.start()
    yield radio
    radio.stop()


# -- leak guard --------------------------------------------------------------------------------
def _make_task_guard(loop_scope: str) -> Callable[[], AsyncIterator[None]]:
    """An async fixture running in the test's own loop: after the test's async fixtures are torn
    down (and before pytest-asyncio closes the loop, which would silently cancel them) it fails
    the test if tasks it started are still pending."""

    @pytest_asyncio.fixture(loop_scope=loop_scope, name=f"_asyncio_task_guard_{loop_scope}")
    async def guard() -> AsyncIterator[None]:
        before = set(asyncio.all_tasks())
        yield
        leaked = await find_leaked_tasks(before)
        if leaked:
            pytest.fail("test left asyncio tasks pending:\n" + "\n".join(leaked), pytrace=False)

    return guard


_asyncio_task_guard_function = _make_task_guard("function")
_asyncio_task_guard_class = _make_task_guard("class")
_asyncio_task_guard_module = _make_task_guard("module")
_asyncio_task_guard_package = _make_task_guard("package")
_asyncio_task_guard_session = _make_task_guard("session")


def _test_loop_scope(item: pytest.Item) -> str:
    marker = item.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") if marker is not None else None
    return scope or item.config.getini("asyncio_default_test_loop_scope") or "function"


@pytest.fixture(autouse=True)
def leak_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if, after its teardown, it left threads, child processes or asyncio tasks behind.

    Autouse fixtures are set up first, so this one is torn down last: every fixture of the test
    (including pytest-asyncio's loop) has cleaned up before the check. Session services are exempt.
    """
    snapshot = LeakSnapshot()
    if pytest_asyncio.is_async_test(request.node):
        request.getfixturevalue(f"_asyncio_task_guard_{_test_loop_scope(request.node)}")
    yield
    leaks = find_leaks(snapshot, exempt_pids=_session_service_pids)
    if leaks:
        pytest.fail("test leaked resources:\n" + "\n".join(leaks), pytrace=False)

