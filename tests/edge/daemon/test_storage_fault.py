"""A storage fault during an open session with a gas spike: the siren still comes on at once, polling goes on, the
fault is an alarm (siren and beacon, an announcement, ``/healthz`` critical) and reaches the cloud once storage
allows, nothing held in memory is lost when storage recovers, and the daemon still stops on SIGTERM in time.

Faults: ``database or disk is full`` and ``disk I/O error`` injected at the outbox's commit (with the uplink over
a private Mosquitto), a real full filesystem and a real read-only one (a tmpfs under the state directory; mounting
needs root), and outbox.db overwritten under the running daemon.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmKind
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.edge_site import GATEWAY, SPACE, SPIKE_AT, Site
from fwsim.stage.receiver import AckingReceiver
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import outbox_rows
from tests.edge.daemon.test_inputs import open_session
from tests.edge.daemon.test_restart import console, start_daemon, tail, wait_console
from tests.rig.waiting import eventually


@contextmanager
def tmpfs(path: Path, size_kb: int) -> Iterator[None]:
    """A small tmpfs at ``path`` (a real filesystem that fills up or goes read-only)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a real full or read-only disk (needs root): {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path) -> Path:
    """Fill the filesystem of ``path`` to the last byte."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` read-only from now on (a read-only bind mount over it: nothing new can be written there; files
    already open stay writable, as after a ``chmod`` of the directory for a non-root daemon)."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True, capture_output=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True, capture_output=True)


def open_alarm(daemon: Daemon, kind: AlarmKind) -> Any:
    return next((a for a in daemon.alarms.open_alarms() if a.key.kind is kind), None)


def siren(sim: Any) -> bool:
    return bool(sim.output_module(10).coils["siren"])


async def started(site: Site, uplink: str = "") -> Daemon:
    announced: list[tuple[str, str, str]] = []
    daemon = Daemon(load_edge_config(site.write_config(uplink=uplink)), clock_keeper=ClockKeeper(ntp=no_ntp),
                    pushes=HeldPushes(), announce=lambda *a: announced.append(a))
    daemon.announced = announced  # type: ignore[attr-defined]
    await daemon.start()
    return daemon


async def spike_sounds_through_the_fault(daemon: Daemon, site: Site, gas: Any) -> None:
    """The fault is an alarm; once a person has acknowledged it (silencing it), a gas spike sounds the siren as on
    a healthy disk, and the detector keeps being polled."""
    sim, clock = gas
    fault = await eventually(lambda: open_alarm(daemon, AlarmKind.GATEWAY_FAULT), what="the gateway-fault alarm")
    assert fault.key.subject == "storage"
    await eventually(lambda: siren(sim) and sim.output_module(10).coils["beacon"], what="siren and beacon for it")
    assert any(kind == "notice" and "storage fault" in text for _s, kind, text in daemon.announced)  # type: ignore
    health = daemon.health.snapshot()
    assert not health["ok"] and not health["components"]["storage"]["ok"]
    assert health["components"]["storage"]["critical"]
    await daemon.desk.acknowledge(fault.id, "att1")
    await eventually(lambda: not siren(sim), what="the siren silenced by the acknowledgement")
    polls = daemon.detectors["det-1"].poller.cycles
    clock.jump(SPIKE_AT)
    await eventually(lambda: open_alarm(daemon, AlarmKind.GAS_LEVEL2), what="the level-2 H2S alarm")
    await eventually(lambda: siren(sim), what="the siren for the gas")
    await eventually(lambda: daemon.detectors["det-1"].poller.cycles >= polls + 5, what="polling going on")
    assert daemon.spaces[SPACE].session.is_open


def contiguous(rows: list[tuple[int, str, dict[str, Any]]]) -> bool:
    return [seq for seq, _k, _b in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))


@pytest.fixture
async def receiver(mosquitto: MosquittoBroker, site: Site) -> AsyncIterator[AckingReceiver]:
    receiver = AckingReceiver(mosquitto.host, mosquitto.port, site.cloud_key)
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("error", ["database or disk is full", "disk I/O error"])
async def test_an_injected_commit_failure_keeps_the_siren_and_the_polls_and_loses_nothing(
        site: Site, gas: Any, mosquitto: MosquittoBroker, receiver: AckingReceiver, error: str) -> None:
    daemon = await started(site, Site.mqtt_uplink(mosquitto.host, mosquitto.port))
    try:
        await open_session(daemon, site)
        assert daemon.outbox is not None
        outbox = daemon.outbox
        real_commit = outbox._commit  # the outbox's one seam to the disk
        failing = True

        async def commit(batch: Any) -> None:
            if failing:
                raise sqlite3.OperationalError(error)
            await real_commit(batch)

        outbox._commit = commit  # type: ignore[method-assign]
        await spike_sounds_through_the_fault(daemon, site, gas)
        assert outbox.fault is not None and error in outbox.fault
        assert outbox.queued > 0  # held in memory, in order
        held_from = outbox.last_seq - outbox.queued + 1

        failing = False  # storage recovers
        await eventually(lambda: outbox.fault is None and daemon.health.snapshot()["components"]["storage"]["ok"],
                         what="storage recovered")
        await outbox.flush()
        rows = outbox_rows(site.state_dir)
        made = [(seq, k, b) for seq, k, b in rows if seq >= held_from]
        assert made and made[0][0] == held_from and contiguous(made)  # every held record written, no gap
        causes = [(b["cause"], b["state"]) for _s, k, b in made if k == "alarm"]
        assert ("gateway_fault", "raised") in causes and ("gas_level2", "raised") in causes
        # ... and the cloud gets them in order once the link allows.
        raised = next(s for s, k, b in made if k == "alarm" and b["cause"] == "gateway_fault")

        def stored() -> bool:
            watermark, records, _order = receiver.snapshot(GATEWAY, 1)
            return watermark >= raised and any(r.seq == raised and r.kind == "alarm" for r in records)

        await eventually(stored, timeout_s=30, what="the gateway-fault alarm stored by the cloud")
        await eventually(lambda: open_alarm(daemon, AlarmKind.GATEWAY_FAULT) is None,
                         what="the acknowledged fault alarm closed once its condition cleared")
    finally:
        await stop_or_explain(daemon, timeout_s=20)


async def test_a_real_full_disk(site: Site, gas: Any) -> None:
    with tmpfs(site.state_dir, 16384):  # room for SQLite's WAL (checkpointed at about 4 MB) before it is filled
        daemon = await started(site)
        try:
            await open_session(daemon, site)
            filler = fill(site.state_dir)
            await spike_sounds_through_the_fault(daemon, site, gas)
            assert daemon.store_faults  # the state file at least: no room for its new copy
            seen = daemon.outbox.last_seq if daemon.outbox else 0
            filler.unlink()  # room again
            await eventually(lambda: not daemon.store_faults, what="storage recovered")
            assert daemon.outbox is not None
            await daemon.outbox.flush()
            assert daemon.outbox.queued == 0
            rows = outbox_rows(site.state_dir)
            assert contiguous(rows) and rows[-1][0] >= seen
            assert any(k == "alarm" and b["cause"] == "gas_level2" for _s, k, b in rows)
        finally:
            await stop_or_explain(daemon, timeout_s=20)


async def test_a_read_only_state_directory(site: Site, gas: Any) -> None:
    with tmpfs(site.state_dir, 16384):
        daemon = await started(site)
        try:
            await open_session(daemon, site)
            with read_only(site.state_dir):
                await daemon.entrant_in(SPACE, "w-2")  # a step that changes the state: its file cannot be replaced
                await spike_sounds_through_the_fault(daemon, site, gas)
                assert "state" in daemon.store_faults  # the state file cannot be replaced
            await eventually(lambda: not daemon.store_faults, what="storage recovered")
            assert daemon.outbox is not None
            await daemon.outbox.flush()
            assert daemon.outbox.queued == 0
            rows = outbox_rows(site.state_dir)
            assert contiguous(rows)
            assert any(k == "alarm" and b["cause"] == "gas_level2" for _s, k, b in rows)
            assert any(k == "alarm" and b["cause"] == "gateway_fault" for _s, k, b in rows)
        finally:
            await stop_or_explain(daemon, timeout_s=20)


async def test_outbox_db_corrupted_under_the_running_daemon(site: Site, gas: Any) -> None:
    daemon = await started(site)
    try:
        await open_session(daemon, site)
        for name in ("outbox.db", "outbox.db-wal", "outbox.db-shm"):
            path = site.state_dir / name
            size = path.stat().st_size
            with path.open("r+b") as out:  # in place: the daemon's open connection sees it
                out.write(os.urandom(size))
        await spike_sounds_through_the_fault(daemon, site, gas)
        assert daemon.outbox is not None and daemon.outbox.fault is not None
        assert daemon.outbox.queued > 0  # what could not be written is held, not dropped
    finally:
        await stop_or_explain(daemon, timeout_s=20)


async def test_sigterm_stops_a_daemon_on_a_full_disk_within_the_stop_timeout(site: Site, gas: Any) -> None:
    sim, clock = gas
    with tmpfs(site.state_dir, 16384):
        log = site.root / "daemon.log"
        process = start_daemon(site.write_config(), log)
        try:
            await wait_console(site, process, log)
            fill(site.state_dir)
            status = await eventually_async(lambda: _status_with_fault(site), what="the storage fault")
            fault = await eventually_async(lambda: _fault_alarm(site), what="the gateway-fault alarm")
            await console(site, {"op": "ack", "alarm_id": fault["id"], "by": "att1"})
            await eventually(lambda: not siren(sim), what="the fault's siren silenced by the acknowledgement")
            polls = status["detectors"]["det-1"]["polls"]
            clock.jump(SPIKE_AT)
            await eventually(lambda: siren(sim), what="the siren for the gas")

            async def polled_on() -> bool:
                later = await console(site, {"op": "status"})
                return (later["detectors"]["det-1"]["polls"] >= polls + 3
                        and any(a["kind"] == "gas_level2" for a in later["alarms"]))

            await eventually_async(polled_on, what="polling going on, the gas alarm raised")
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)  # systemd's TimeoutStopSec=20
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGABRT)
                process.wait(5)
                raise AssertionError(f"no exit 20 s after SIGTERM:\n{tail(log)}") from None
            assert code in (0, 1), tail(log)
            assert time.monotonic() - began < 20
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def _fault_alarm(site: Site) -> dict[str, Any] | None:
    status = await console(site, {"op": "status"})
    return next((a for a in status["alarms"] if a["kind"] == "gateway_fault"), None)


async def _status_with_fault(site: Site) -> dict[str, Any] | None:
    status = await console(site, {"op": "status"})
    return status if status["storage"] else None


async def eventually_async(check: Any, *, timeout_s: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
