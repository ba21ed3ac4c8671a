"""No exception ends a detector's polling: one in the handling of a poll is logged and the next poll goes on; one
that kills the poller task gets it restarted (with back-off, reported in ``/healthz``), and the gas is read again."""

from __future__ import annotations

from typing import Any

from edge.daemon import Daemon
from fwsim.stage.edge_site import SPACE
from tests.rig.waiting import eventually


async def test_a_failing_poll_handler_and_a_dying_poller_do_not_stop_the_polling(daemon: Daemon, gas: Any) -> None:
    link = daemon.detectors["det-1"]
    await eventually(lambda: daemon.spaces[SPACE].last_state is not None, what="first readings")

    real_readings, failures = link.readings, 0

    def broken_readings(*args: Any) -> Any:
        nonlocal failures
        failures += 1
        raise RuntimeError("a bug in the handling of one poll")

    link.readings = broken_readings  # type: ignore[method-assign]
    await eventually(lambda: failures >= 3, what="several polls whose handling failed")
    link.readings = real_readings  # type: ignore[method-assign]
    cycles = link.poller.cycles
    await eventually(lambda: link.poller.cycles >= cycles + 3, what="polling going on")

    real_decode, deaths = link.poller.decode, 0

    def dying_decode(blocks: Any) -> Any:
        nonlocal deaths
        deaths += 1
        raise RuntimeError("a bug that kills the poller task")

    link.poller.decode = dying_decode
    await eventually(lambda: deaths >= 2, what="the poller task died and was restarted")
    detail = daemon.health.snapshot()["components"]["task:poller-det-1"]
    assert detail["critical"] and "restarting after RuntimeError" in detail["detail"]
    link.poller.decode = real_decode
    cycles = link.poller.cycles
    await eventually(lambda: link.poller.cycles >= cycles + 3, what="the restarted poller polling")
    assert daemon.health.snapshot()["components"]["task:poller-det-1"]["ok"]
