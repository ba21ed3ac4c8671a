"""Private files written atomically: keys and device state that must survive a power cut whole or not at all."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, readable by the owner only (0600).

    Written to a temporary file in the same directory, fsynced, renamed over ``path``, then the directory is
    fsynced: after a crash the file holds either the old bytes or the new ones, never a mix.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, PRIVATE_MODE)  # O_CREAT's mode is masked by the umask; 0600 is the point
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
