"""Fixtures of the end-to-end tests: the gas simulator on the rig's serial line (shared with the daemon tests)."""

from tests.edge.daemon.conftest import gas  # noqa: F401
