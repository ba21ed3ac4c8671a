"""BLE benchmark: one padlock unlock transaction over the virtual radio beside a raw GATT round trip.

Both run in the same process on the same bumble LocalLink, each over an already open connection
(connection set-up excluded). The unlock transaction is the phone's whole exchange: challenge request →
challenge → unlock (token + PoP) → result → opened event, with the lock persisting its state (fsync) before
it answers. The raw limit is one 20-byte write (without response) answered by one notification from an
echo peripheral. Figures only, nothing asserted. Run with ``scripts/bench ble [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service

from fwsim.lock import LockStore, PadlockCore, PadlockPeripheral
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.session import PadlockSession
from fwsim.rig.radio import LocalRadio
from protocols import crypto
from protocols.padlock import messages as m
from protocols.vectorgen import padlock as v
from safegrid.logging import configure_logging

ECHO_SERVICE = "5afe00e0-5a6d-4c0b-9e1f-3c7a2b8d1e40"
ECHO_WRITE = "5afe00e1-5a6d-4c0b-9e1f-3c7a2b8d1e40"
ECHO_NOTIFY = "5afe00e2-5a6d-4c0b-9e1f-3c7a2b8d1e40"


async def timed(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    for _ in range(5):  # warm-up
        await call()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


def echo_device(radio: LocalRadio) -> Device:
    device: Device | None = None
    notify = Characteristic(ECHO_NOTIFY, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")

    def on_write(connection: Connection, value: bytes) -> None:
        assert device is not None
        asyncio.get_running_loop().create_task(device.notify_subscriber(connection, notify, bytes(value)))

    write: Characteristic[bytes] = Characteristic(ECHO_WRITE, Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
                                                  Characteristic.WRITEABLE, CharacteristicValue(write=on_write))
    device = radio.device("echo", services=[Service(ECHO_SERVICE, [write, notify])])
    return device


async def raw_round_trips(radio: LocalRadio, central: Device, rounds: int, mtu: int) -> list[float]:
    echo = echo_device(radio)
    await echo.power_on()
    await echo.start_advertising(advertising_interval_min=20.0, advertising_interval_max=20.0)
    connection = await central.connect(echo.random_address)
    try:
        peer = Peer(connection)
        if mtu > 23:
            await peer.request_mtu(mtu)
        await peer.discover_services([UUID(ECHO_SERVICE)])
        await peer.discover_characteristics()
        (write,) = peer.get_characteristics_by_uuid(UUID(ECHO_WRITE))
        (notify,) = peer.get_characteristics_by_uuid(UUID(ECHO_NOTIFY))
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        await peer.subscribe(notify, queue.put_nowait)

        async def round_trip() -> None:
            await write.write_value(bytes(20), with_response=False)
            await queue.get()

        return await timed(round_trip, rounds)
    finally:
        await connection.disconnect()


async def unlocks(radio: LocalRadio, central: Device, rounds: int, mtu: int, workdir: Path, *,
                  persist: bool) -> list[float]:
    now = int(time.time())
    permit = dataclasses.replace(v.claims(gas_test_required=False), iat=now - 60, nbf=now - 60, exp=now + 3600,
                                 window_start=now - 60, window_end=now + 3600)
    token = v.token(permit)
    core = PadlockCore.factory_new(time.time())
    provision = m.Provision(lock_id=v.LOCK_ID, issuer_keys={v.ISSUER_KID: crypto.public_raw(v.ISSUER)},
                            gateway_key=crypto.public_raw(v.GATEWAY))
    core.handle(provision.encode(), time.time())
    store = LockStore(workdir / f"lock-{mtu}-{persist}.json") if persist else None
    lock = PadlockPeripheral(radio.device(f"padlock-{mtu}-{persist}"), core, store=store,
                             advertising_interval_ms=20.0)
    await lock.start()
    phone = BumbleCentral(central)
    link = await phone.connect(await phone.find(v.LOCK_ID, 10), mtu=mtu)
    try:
        session = PadlockSession(link)

        async def unlock() -> None:
            outcome = await session.unlock(token, v.WORKER)
            if not outcome.ok:
                raise RuntimeError(f"unlock refused: {outcome.in_words()}")

        return await timed(unlock, rounds)
    finally:
        await link.close()
        await lock.stop()


def line(label: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    print(f"  {label:<48} median {median * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms   ({len(samples)} rounds)")
    return median


async def main(rounds: int) -> None:
    radio = LocalRadio()
    try:
        central = await radio.powered_device("phone")
        with tempfile.TemporaryDirectory() as tmp:
            for mtu in (247, 23):
                print(f"ATT MTU {mtu}:")
                raw = line("raw GATT write + notification round trip", await raw_round_trips(radio, central,
                                                                                            rounds, mtu))
                full = line("unlock transaction (state fsynced per request)",
                            await unlocks(radio, central, rounds, mtu, Path(tmp), persist=True))
                ram = line("unlock transaction (state in RAM only)",
                           await unlocks(radio, central, rounds, mtu, Path(tmp), persist=False))
                print(f"  ratio unlock / raw round trip: {full / raw:.1f}x (RAM only {ram / raw:.1f}x)")
    finally:
        await radio.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timed rounds per figure (default 200)")
    configure_logging("WARNING", json=False)  # the lock's per-event log lines would swamp the figures
    asyncio.run(main(parser.parse_args().rounds))
