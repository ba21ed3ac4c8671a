"""Clock trust: whether the gateway's wall clock may be relied on, and whether a padlock's clock needs setting.

``trust`` and ``padlock`` are pure (time passed in); ``requests`` makes and checks the time requests a cloud
``time`` command echoes (monotonic time passed in); ``system`` reads the OS (boot id, clocks, NTP state) and
``keeper`` holds the state for the daemon.
"""

from edge.clocktrust.keeper import ClockKeeper
from edge.clocktrust.padlock import (
    PadlockClockAction,
    PadlockClockCheck,
    PadlockClockFinding,
    PadlockClockPolicy,
    PadlockSighting,
    check_padlock_clock,
    sighting_after_time_set,
)
from edge.clocktrust.requests import TimeRequests
from edge.clocktrust.trust import ClockTrust, ClockUntrusted, Distrust, Reading, TimeSource, TrustedTime

__all__ = ["ClockKeeper", "ClockTrust", "ClockUntrusted", "Distrust", "PadlockClockAction", "PadlockClockCheck",
           "PadlockClockFinding", "PadlockClockPolicy", "PadlockSighting", "Reading", "TimeRequests", "TimeSource",
           "TrustedTime", "check_padlock_clock", "sighting_after_time_set"]
