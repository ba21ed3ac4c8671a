"""The padlock client is one implementation: it needs neither the gateway nor the simulators, each radio
backend is imported only by whoever picks it, and the gateway and the phone run the same backend code."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_the_client_and_its_bumble_backend_import_neither_edge_nor_fwsim_nor_bleak() -> None:
    loaded = loaded_after("import padlock_client, padlock_client.session, padlock_client.bumble_backend")
    assert {"padlock_client", "protocols", "bumble"} <= loaded
    assert not loaded & {"edge", "fwsim", "cloud", "bleak"}


def test_the_bleak_backend_does_not_need_bumble() -> None:
    pytest.importorskip("bleak", reason="bleak is not installed (edge/sim extra)")
    loaded = loaded_after("import padlock_client.bleak_backend")
    assert "bleak" in loaded and not loaded & {"edge", "fwsim", "cloud", "bumble"}


def test_the_gateway_and_the_phone_run_the_same_backends() -> None:
    from edge.drivers.ble import bleak_link, bumble_link
    from fwsim.phone import bleak_central, bumble_central
    from padlock_client import bleak_backend, bumble_backend

    assert bumble_link.open_channel is bumble_central.open_channel is bumble_backend.open_channel
    assert bleak_link.open_channel is bleak_backend.open_channel
    assert bleak_central.BleakCentral()._backend is bleak_backend
