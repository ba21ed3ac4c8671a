"""What the operating system says about time: the boot id, the clocks, and whether NTP has synchronised.

NTP state comes from the kernel through a read-only ``adjtimex(2)`` (modes 0 needs no privilege; the systemd
unit allows exactly this call), judged as systemd does — synchronised while the kernel's maximum-error bound is
below 16 s — and that bound is the error used. Where adjtimex is unavailable, ``timedatectl show -p
NTPSynchronized --value`` is asked instead (no bound). When neither answers, the state is unknown and the clock
is not trusted on NTP's account.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from edge.clocktrust.trust import Reading

log = structlog.get_logger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
#: systemd's ntp_synced(): the kernel clock counts as synchronised while its maxerror is below 16 s.
NTP_SYNCED_MAXERROR_US = 16_000_000
TIMEDATECTL_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class NtpStatus:
    synced: bool
    maxerror_ms: float | None  # the kernel's bound on the clock error; None when the source gives none
    source: str  # "adjtimex" or "timedatectl"


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    """This boot's id: anchors from another boot are void (the monotonic clock restarted)."""
    return path.read_text(encoding="ascii").strip()


def read_clocks(boot_id: str) -> Reading:
    # Monotonic first: the wall clock read right after it belongs to the same instant within microseconds.
    mono = time.monotonic()
    return Reading(mono, time.time_ns() // 1_000_000, boot_id)


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> (Linux); only maxerror is used, the rest is there for the layout.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time", _Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long),
                ("shift", ctypes.c_int), ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
                ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long),
                ("tai", ctypes.c_int), ("_reserved", ctypes.c_int * 11)]


def adjtimex_status() -> NtpStatus | None:
    """The kernel's NTP state via a read-only adjtimex; None where there is no such call or it is refused."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    timex = _Timex()  # modes = 0: read only
    if adjtimex(ctypes.byref(timex)) < 0:
        log.info("clocktrust.adjtimex_refused", errno=ctypes.get_errno())
        return None
    maxerror_us = int(timex.maxerror)
    return NtpStatus(maxerror_us < NTP_SYNCED_MAXERROR_US, maxerror_us / 1000, "adjtimex")


def parse_timedatectl(output: str) -> bool | None:
    """``timedatectl show -p NTPSynchronized --value`` prints yes or no; anything else is unknown."""
    return {"yes": True, "no": False}.get(output.strip())


async def timedatectl_status(binary: str | None = None, *,
                             timeout_s: float = TIMEDATECTL_TIMEOUT_S) -> NtpStatus | None:
    binary = binary or shutil.which("timedatectl")
    if binary is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(binary, "show", "-p", "NTPSynchronized", "--value",
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return None
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None
    synced = parse_timedatectl(out.decode(errors="replace")) if proc.returncode == 0 else None
    return None if synced is None else NtpStatus(synced, None, "timedatectl")


async def ntp_status() -> NtpStatus | None:
    """adjtimex first (it gives an error bound), timedatectl otherwise; None when neither can tell."""
    return adjtimex_status() or await timedatectl_status()
