"""Gas scenarios played through the gas monitor in simulated time, to count trends: the false ones in clean air
and the lead time of a true one before the level-1 alarm.

Pure and fast: the simulator's scenario engine gives each poll's detector snapshot (sensor lag and seeded noise
included), the daemon's own conversion turns it into readings, and the monitor is evaluated after every poll
with the time passed in — an hour of polls takes well under a second. Shared by the unit test that asserts no
false trend over an hour and by ``scripts/bench trend``, which prints the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from edge.core.gas import GasMonitor, GasMonitorConfig, Level
from edge.core.limits import Gas, space_limits
from edge.daemon.detectors import shown_snapshot, snapshot_readings
from fwsim.gas import ScenarioEngine, load_scenario

UNIT = 1


@dataclass(frozen=True, slots=True)
class TrendRun:
    """What one scenario did to the monitor, per gas: when "rising" first held and when level 1 was reached."""

    scenario: str
    seconds: float
    polls: int
    rising_episodes: dict[Gas, int]  # how many times "rising" came on (off → on)
    rising_polls: dict[Gas, int]  # how many evaluations said "rising"
    first_rising: dict[Gas, float]  # scenario seconds
    first_level1: dict[Gas, float]  # scenario seconds of the first evaluation at level 1 or beyond

    def lead_s(self, gas: Gas) -> float | None:
        """How long before level 1 the trend warned (None: no warning before level 1, or no level 1)."""
        rising, level1 = self.first_rising.get(gas), self.first_level1.get(gas)
        if rising is None or level1 is None or rising >= level1:
            return None
        return level1 - rising


def run_scenario(name: str, *, seconds: float | None = None, poll_s: float = 1.0, seed: int | None = None,
                 config: GasMonitorConfig | None = None) -> TrendRun:
    """Play packaged scenario ``name`` for ``seconds`` (default: its own duration) polled every ``poll_s``;
    ``seed`` replaces the scenario's noise seed (another hour of different noise)."""
    scenario = load_scenario(name)
    engine = ScenarioEngine(scenario, [UNIT], start_date=date(2026, 1, 5), seed=seed)
    profile = engine.profile
    duration = scenario.scenario.duration_s if seconds is None else seconds
    monitor = GasMonitor("space", space_limits(), 0.0, config or GasMonitorConfig(poll_interval_s=poll_s))
    episodes = dict.fromkeys(Gas, 0)
    rising_polls = dict.fromkeys(Gas, 0)
    was = dict.fromkeys(Gas, False)
    first_rising: dict[Gas, float] = {}
    first_level1: dict[Gas, float] = {}
    polls = 0
    t = 0.0
    while t <= duration:
        engine.advance_to(t)
        snapshot = shown_snapshot(profile, engine.snapshot(UNIT), heartbeat_frozen=False)
        for reading in snapshot_readings(snapshot, profile, "det-1", t):
            monitor.observe(reading)
        for gas, report in monitor.evaluate(t).gases.items():
            if report.rising:
                rising_polls[gas] += 1
                first_rising.setdefault(gas, t)
                episodes[gas] += not was[gas]
            was[gas] = report.rising
            if report.gas_level in (Level.LEVEL1, Level.LEVEL2):
                first_level1.setdefault(gas, t)
        polls += 1
        t = polls * poll_s
    return TrendRun(name, duration, polls, episodes, rising_polls, first_rising, first_level1)
