"""Simulated gas detectors and alarm output modules on a Modbus bus (RTU or TCP), playing scenarios.

    scenario = load_scenario("h2s_spike")
    clock = ManualClock()                                   # or ScaledClock(speed=10) for a run
    async with GasSimulator(scenario, units=[1, 2], output_units=[10], clock=clock,
                            start_date=date.today()) as sim:
        await sim.serve(RtuPort("/dev/ttyUSB0", baudrate=9600, line_speed=True))   # or TcpListen("127.0.0.1", 5020)
        clock.set(90)                                       # scenario time, seconds
        sim.detector(1).reading("H2S")                      # what unit 1 serves now
        sim.output_module(10).coils                         # {"siren": ..., "beacon": ..., ...}
        sim.output_module(10).press("ack")                  # the attendant's button

The pure parts — :mod:`.scenario` (data files), :mod:`.dynamics` (T90 sensors, noise), :mod:`.engine`,
:mod:`.output_module`, :mod:`.wire` — take time as an argument; :mod:`.bus` is the pymodbus adapter.
"""

from fwsim.gas.bus import BusStats, GasSimulator, RtuPort, TcpListen
from fwsim.gas.checks import check_mismatches
from fwsim.gas.clock import Clock, ManualClock, ScaledClock
from fwsim.gas.dynamics import FirstOrderSensor, GasSeries, noise_at, tau_of_t90
from fwsim.gas.engine import Fault, ScenarioEngine
from fwsim.gas.output_module import OutputModule
from fwsim.gas.scenario import Check, Scenario, load_scenario, packaged_scenarios, parse_scenario, scenario_text

__all__ = [
    "BusStats",
    "Check",
    "Clock",
    "Fault",
    "FirstOrderSensor",
    "GasSeries",
    "GasSimulator",
    "ManualClock",
    "OutputModule",
    "RtuPort",
    "ScaledClock",
    "Scenario",
    "ScenarioEngine",
    "TcpListen",
    "check_mismatches",
    "load_scenario",
    "noise_at",
    "packaged_scenarios",
    "parse_scenario",
    "scenario_text",
    "tau_of_t90",
]
