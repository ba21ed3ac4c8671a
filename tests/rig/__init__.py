"""The test rig: pytest's side of the simulated site (skip-or-fail policy, leak guard, BlueZ mock); the launchers
of the real services (broker, database, serial line, radio) are ``fwsim.rig``."""

from pathlib import Path

#: The repository's root: the working directory of the simulators' and tools' subprocesses in the tests.
REPO_ROOT = Path(__file__).resolve().parents[2]
