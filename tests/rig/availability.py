"""Decides what happens when a real part the tests need is missing on this machine.

Locally a missing binary skips the tests that need it, with the reason. Under
``SAFEGRID_REQUIRE_SERVICES=1`` (CI) the same reason fails them instead, so a CI image that
lost a package cannot go green by skipping.
"""

from __future__ import annotations

import glob
import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_SERVICES_ENV = "SAFEGRID_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when a missing service must fail the test rather than skip it."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "") == "1"


def service_unavailable(reason: str) -> NoReturn:
    """Skip the current test with ``reason``, or fail it under ``SAFEGRID_REQUIRE_SERVICES=1``."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def find_binary(name: str, extra_dirs: tuple[str, ...] = ("/usr/sbin", "/usr/local/sbin")) -> str | None:
    """Path of executable ``name`` on PATH or in ``extra_dirs`` (sbin is not on a normal user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def require_binary(name: str, package: str) -> str:
    """Path of ``name``; otherwise skip (or fail) saying which Debian package provides it."""
    path = find_binary(name)
    if path is None:
        service_unavailable(f"{name} not found: install the Debian package `{package}`")
    return path


def find_postgres_bindir() -> str | None:
    """Directory holding initdb/pg_ctl/postgres: PATH first, else the newest Debian versioned directory."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return os.path.dirname(on_path)

    def version(bindir: str) -> float:
        # /usr/lib/postgresql/<version>/bin -> <version>; non-numeric versions sort first.
        try:
            return float(os.path.basename(os.path.dirname(bindir)))
        except ValueError:
            return -1.0

    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.access(os.path.join(d, "initdb"), os.X_OK)]
    return max(candidates, key=version) if candidates else None
