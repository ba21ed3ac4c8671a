"""Fixtures of the phone tests: a provisioned padlock and a phone device on the in-process radio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.fwsim.lock.world import PadlockRig, default_logging, padlock_rig
from tests.rig.bluez import bluez_bus  # noqa: F401  (fixture: BlueZoo on a private D-Bus, for the bleak tests)


@pytest_asyncio.fixture
async def rig(ble_radio: Any, tmp_path: Path) -> AsyncIterator[PadlockRig]:
    async with padlock_rig(ble_radio, tmp_path) as lock_rig:
        yield lock_rig


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    with default_logging():
        yield
