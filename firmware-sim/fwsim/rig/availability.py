"""Finding the binaries a simulated site runs (mosquitto, socat, PostgreSQL's server programs) on this machine,
including the sbin and versioned Debian directories that are not on a normal user's PATH."""

from __future__ import annotations

import glob
import os
import shutil


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
