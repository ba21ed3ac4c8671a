"""Operating the daemon: systemd readiness and watchdog (sd_notify), the localhost health endpoint and the
Prometheus metrics it serves. Adapters only; nothing here takes a safety decision."""

from edge.ops.health import ComponentStatus, Health
from edge.ops.http import OpsServer
from edge.ops.metrics import Counter, Gauge, Registry
from edge.ops.sdnotify import Notifier, WatchdogPinger, watchdog_interval

__all__ = ["ComponentStatus", "Counter", "Gauge", "Health", "Notifier", "OpsServer", "Registry", "WatchdogPinger",
           "watchdog_interval"]
