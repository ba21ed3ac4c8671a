"""Shared helpers for the ops tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(condition: Callable[[], bool], limit_s: float = 10.0, step_s: float = 0.005) -> None:
    """Wait until ``condition()`` holds; fail the test after a generous ``limit_s``."""
    for _ in range(int(limit_s / step_s)):
        if condition():
            return
        await asyncio.sleep(step_s)
    raise AssertionError(f"condition not met within {limit_s} s")
