"""Helpers for the gas simulator tests: a simulator serving with a manual clock, and waiting out late replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest

from fwsim.gas import GasSimulator, ManualClock, Scenario

START = date(2025, 6, 1)


@asynccontextmanager
async def serving(scenario: Scenario, link: Any, *, units: tuple[int, ...] = (1, 2),
                  output_units: tuple[int, ...] = (10,)) -> AsyncIterator[tuple[GasSimulator, ManualClock]]:
    clock = ManualClock()
    sim = GasSimulator(scenario, units=units, output_units=output_units, clock=clock, start_date=START)
    await sim.serve(link)
    try:
        yield sim, clock
    finally:
        await sim.stop()


async def drain(sim: GasSimulator) -> None:
    """Let replies held back by the simulator reach the line (bounded: a stuck one fails the test)."""
    for _ in range(100):
        if not sim.pending_replies:
            await asyncio.sleep(0.05)  # and let the client read (and discard) what came late
            return
        await asyncio.sleep(0.05)
    pytest.fail("the simulator still holds replies back")
