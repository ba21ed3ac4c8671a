"""Fixtures for the gas simulator tests: ``rtu`` serves a simulator on one end of the ``serial_pty`` line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fwsim.gas import RtuPort, Scenario
from tests.fwsim.gas.sim_rig import serving


@pytest.fixture
def rtu(serial_pty: Any) -> Callable[..., Any]:
    """``async with rtu(scenario, line_speed=False) as (sim, clock)``: a simulator on ``serial_pty.b``."""

    def start(scenario: Scenario, *, line_speed: bool = False, **kwargs: Any) -> Any:
        return serving(scenario, RtuPort(serial_pty.b, baudrate=9600, line_speed=line_speed), **kwargs)

    return start
