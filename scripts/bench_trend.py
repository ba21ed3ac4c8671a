"""Gas trend figures: false trends in clean air and the lead time of a true one, on the simulator's scenarios.

Each scenario is played in simulated time (the scenario engine's sensor lag and seeded noise, the daemon's own
reading conversion, the gas monitor evaluated after every poll — pure, time passed in), so an hour takes well
under a second. Printed:

1. false trends in clean air: hours of ``clean_air`` with different noise seeds, how many times "rising" came
   on per gas (the goal: none);
2. on each rising scenario, when the trend first warned and when the gas reached level 1, and the lead between.

Run with ``scripts/bench trend [--hours N]``. Nothing is asserted here; tests/edge/daemon/test_trend_scenarios.py
checks zero false trends over an hour and a lead on the slow rises.
"""

from __future__ import annotations

import argparse
import time

from edge.core.limits import Gas
from fwsim.stage.trend import run_scenario

RISING = {"lel_rise": Gas.FLAMMABLE, "o2_depletion": Gas.O2, "h2s_spike": Gas.H2S, "co_plume": Gas.CO}


def show(name: str, value: str, beside: str = "") -> None:
    print(f"  {name:<58} {value:>16}" + (f"   ({beside})" if beside else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=10, help="hours of clean air, one noise seed each")
    args = parser.parse_args()
    print("1. false trends in clean air (clean_air, polled every 1 s)")
    totals = dict.fromkeys(Gas, 0)
    started = time.perf_counter()
    for seed in range(1, args.hours + 1):
        run = run_scenario("clean_air", seconds=3600.0, seed=seed)
        for gas, n in run.rising_episodes.items():
            totals[gas] += n
    elapsed = time.perf_counter() - started
    for gas, n in totals.items():
        show(f"{gas.name}: trends in {args.hours} h", str(n), "goal 0")
    show("simulated hours per second of this machine", f"{args.hours / elapsed:.1f}")
    print("2. lead time of the trend before level 1 (scenario seconds)")
    for name, gas in RISING.items():
        run = run_scenario(name)
        rising, level1, lead = run.first_rising.get(gas), run.first_level1.get(gas), run.lead_s(gas)
        show(f"{name}: {gas.name} trend at / level 1 at", f"{rising if rising is not None else '-'} / "
             f"{level1 if level1 is not None else '-'}",
             f"lead {lead:.0f} s" if lead is not None else "no lead: the gas reaches level 1 within seconds")
        quiet = sum(n for g, n in run.rising_episodes.items() if g is not gas)
        show(f"{name}: trends on the other gases (clean air)", str(quiet), "goal 0")


if __name__ == "__main__":
    main()
