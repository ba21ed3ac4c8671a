"""The gateway daemon (``safegrid-edge run``): the wiring of drivers, the safety core, the journal and the cloud.

One module per job: ``spaces`` (a space's gas monitor and session), ``detectors`` and ``outputs`` (the Modbus
devices), ``padlocks`` (audit entries in, pushes out), ``commands`` (verified cloud commands), ``actions``
(carrying out the core's decisions), ``journal`` (outbox first, then the ledger), ``state`` (what survives a
restart), ``console`` (the local attendant socket) and ``app`` (starting and stopping it all).
"""

from edge.daemon.app import Daemon

__all__ = ["Daemon"]
