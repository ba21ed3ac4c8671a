"""The one way tests wait for something to happen: poll a condition until it holds, or fail naming what never did.

Timeouts are generous on purpose (the machine is shared and loaded): a test asserts order and outcome, never
latency — figures about speed belong in the benchmarks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT_S = 20.0


async def eventually(check: Callable[[], T], what: str = "condition", *, timeout_s: float = TIMEOUT_S,
                     every_s: float = 0.01) -> T:
    """Wait until ``check()`` returns something truthy and return it; AssertionError naming ``what`` after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(every_s)
