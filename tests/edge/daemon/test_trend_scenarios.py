"""Trends measured on the simulator's scenarios, in simulated time through the daemon's own reading conversion
and the gas monitor: none in an hour of clean air, and a warning well before level 1 on a slow rise.

In clean air the demo logged "fan started — FLAMMABLE is rising toward its level-1 set-point" twice: three noisy
samples near zero made a slope. These are correctness checks, not timing: the runs take simulated time.
"""

from __future__ import annotations

import pytest

from edge.core.limits import Gas
from fwsim.stage.trend import run_scenario

HOUR_S = 3600.0


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_false_trend_in_an_hour_of_clean_air(seed: int) -> None:
    run = run_scenario("clean_air", seconds=HOUR_S, seed=seed)
    assert run.polls > HOUR_S  # every second of the hour was polled and evaluated
    assert run.rising_polls == dict.fromkeys(Gas, 0), run.first_rising


@pytest.mark.parametrize(("scenario", "gas", "min_lead_s"), [
    ("lel_rise", Gas.FLAMMABLE, 30.0),  # 0.1 %LEL/s from 60 s: level 1 (10 %LEL) about 110 s later
    ("o2_depletion", Gas.O2, 30.0),  # −0.013 %VOL/s from 60 s: below 19.5 %VOL about 110 s later
])
def test_a_slow_rise_is_a_trend_before_level_1(scenario: str, gas: Gas, min_lead_s: float) -> None:
    run = run_scenario(scenario)
    lead = run.lead_s(gas)
    assert lead is not None and lead >= min_lead_s, (run.first_rising, run.first_level1)
    assert run.rising_episodes[gas] == 1  # one warning that holds, not a flicker
    others = {g: n for g, n in run.rising_polls.items() if g is not gas}
    assert others == dict.fromkeys(others, 0)  # the gases in clean air around it stay quiet
