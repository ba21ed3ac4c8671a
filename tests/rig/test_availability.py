"""A missing part skips its tests locally and fails them under SAFEGRID_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os

import pytest

from fwsim.rig.availability import find_postgres_bindir
from tests.rig.availability import REQUIRE_SERVICES_ENV, require_binary, service_unavailable

MISSING = "safegrid-no-such-binary"


def test_a_missing_binary_skips_with_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} not found: install the Debian package `pkg`"):
        require_binary(MISSING, "pkg")


def test_a_missing_binary_fails_when_services_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING} not found.*{REQUIRE_SERVICES_ENV}=1"):
        require_binary(MISSING, "pkg")


@pytest.mark.parametrize("value", ["", "0", "yes"])
def test_only_the_value_1_requires_services(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, value)
    with pytest.raises(pytest.skip.Exception, match="reason"):
        service_unavailable("reason")


def test_a_present_binary_is_found_by_path() -> None:
    path = require_binary("sh", "dash")
    assert os.access(path, os.X_OK)


def test_postgres_bindir_holds_the_server_tools() -> None:
    bindir = find_postgres_bindir()
    if bindir is None:
        service_unavailable("PostgreSQL server binaries not found: install the Debian package `postgresql`")
    for tool in ("initdb", "pg_ctl", "postgres"):
        assert os.access(os.path.join(bindir, tool), os.X_OK), tool
