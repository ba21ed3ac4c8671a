"""Decides what happens when a real part the tests need is missing on this machine.

Locally a missing binary skips the tests that need it, with the reason. Under
``SAFEGRID_REQUIRE_SERVICES=1`` (CI) the same reason fails them instead, so a CI image that
lost a package cannot go green by skipping. Finding the binaries is the simulated site's own
(``fwsim.rig.availability``).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from fwsim.rig.availability import find_binary

REQUIRE_SERVICES_ENV = "SAFEGRID_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when a missing service must fail the test rather than skip it."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "") == "1"


def service_unavailable(reason: str) -> NoReturn:
    """Skip the current test with ``reason``, or fail it under ``SAFEGRID_REQUIRE_SERVICES=1``."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, package: str) -> str:
    """Path of ``name``; otherwise skip (or fail) saying which Debian package provides it."""
    path = find_binary(name)
    if path is None:
        service_unavailable(f"{name} not found: install the Debian package `{package}`")
    return path
