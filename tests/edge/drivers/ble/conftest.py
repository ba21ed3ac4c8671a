"""Fixtures: fresh keys, a provisioned padlock simulator on the in-process radio, and a gateway link to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.edge.drivers.ble.world import Keys, gateway_link, provisioned_core, signer, start_lock
from tests.rig.bluez import bluez_bus  # noqa: F401  (fixture: BlueZoo on a private D-Bus, for the bleak tests)


@pytest.fixture
def keys() -> Keys:
    return Keys.fresh()


@pytest_asyncio.fixture
async def padlock(ble_radio: Any, keys: Keys) -> AsyncIterator[Any]:
    lock = await start_lock(ble_radio.device("padlock"), provisioned_core(keys))
    yield lock
    await lock.stop()


@pytest_asyncio.fixture
async def link(ble_radio: Any, padlock: Any, keys: Keys) -> AsyncIterator[Any]:
    async with gateway_link(ble_radio.device("gateway"), padlock.core, time_signer=signer(keys),
                            response_timeout_s=3.0) as link:
        yield link
