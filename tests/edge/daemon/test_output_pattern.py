"""The output module link's pattern timing, without the bus: what each coil should be at a given moment when its
spaces want it off, pulsed (the gateway-fault pattern) or continuous. The coils on the wire are
``test_siren_pattern.py``'s."""

from __future__ import annotations

import time

from edge.config import OutputModuleConfig
from edge.daemon.outputs import OutputModuleLink
from edge.drivers.modbus import ModbusBus, TcpEndpoint
from protocols.gasprofile import OutputModuleProfile, load_profile


def link() -> OutputModuleLink:
    config = OutputModuleConfig(id="om-1", bus="rs485", unit=10, fault_pulse_on_s=1.0, fault_pulse_period_s=10.0)
    profile = load_profile(config.profile)
    assert isinstance(profile, OutputModuleProfile)
    return OutputModuleLink(config, ModbusBus(TcpEndpoint("127.0.0.1")), profile)  # never opened here


def sirens(module: OutputModuleLink, since: float, *offsets: float) -> list[bool]:
    return [module.desired(since + dt)["siren"] for dt in offsets]


def test_pulsed_is_on_for_the_pulse_at_the_start_of_every_period() -> None:
    module = link()
    since = time.monotonic()
    module.want("A", "siren", True, pulsed=True)
    assert sirens(module, since, 0.5, 0.9, 1.1, 5.0, 9.9, 10.5, 11.1, 20.5) == [
        True, True, False, False, False, True, False, True]
    # The next wake-up is the next edge: the pulse's end, then the next period's start.
    assert abs(module._next_edge(since + 0.5) - (since + 1.0)) < 0.01
    assert abs(module._next_edge(since + 3.0) - (since + 10.0)) < 0.01
    module.want("A", "siren", False)
    assert sirens(module, since, 0.5, 10.5) == [False, False]
    assert module._next_edge(since) == float("inf")


def test_continuous_wins_over_pulsed_across_the_spaces_of_one_module() -> None:
    module = link()
    module.want("A", "siren", True, pulsed=True)
    module.want("B", "siren", True)  # gas in B: continuous for the module's siren
    now = time.monotonic()
    assert sirens(module, now, 0.5, 5.0, 9.9) == [True, True, True]
    assert module._next_edge(now) == float("inf")  # no pulse to time
    since = time.monotonic()
    module.want("B", "siren", False)  # B settled: A's fault pulses again, starting with a blast
    assert sirens(module, since, 0.5, 5.0, 10.5) == [True, False, True]
    module.want("A", "beacon", True)
    assert module.desired(since + 5.0)["beacon"]  # the beacon never pulses
