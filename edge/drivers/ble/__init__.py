"""The gateway's padlock link: BLE to SafeGrid padlocks (``protocols/padlock.md``), bumble or bleak backend.

- :func:`open_link` → :class:`PadlockLink` (``scan_advert``, ``fetch_events``, ``push``, ``set_time``,
  ``read_info``, ``visit``, ``close``) — backends are imported only when chosen;
- :class:`PadlockWatcher` — one per padlock: watches the advertised event seq, visits briefly, verifies the
  audit chain, corrects the lock's clock from a trusted gateway clock, delivers queued pushes, yields to phones;
- :class:`ChainCursor` — where the gateway's stored copy of a lock's chain ends (the caller persists it);
- :class:`TimeSetSigner` — signs time sets with the gateway key from trusted time only;
- :class:`PadlockLinkError` — codes ``not_found``, ``busy``, ``link_lost``, ``timeout``, ``bad_chain``,
  ``refused``, ``bad_response``;
- :class:`~protocols.padlock.messages.PushKind` — what ``push`` / ``queue_push`` deliver.

The exchange with a lock and both radio backends are the shared padlock client (``padlock_client``), which the
reference phone runs too. The bumble backend's :class:`~padlock_client.bumble_backend.BumbleCentral` is
imported from ``edge.drivers.ble.bumble_link`` (it needs bumble installed).
"""

from edge.drivers.ble.chain import ChainCursor
from edge.drivers.ble.errors import LINK_ERROR_CODES, PadlockLinkError
from edge.drivers.ble.link import Backend, PadlockLink, open_link
from edge.drivers.ble.session import FetchProgress, PadlockSession
from edge.drivers.ble.timeset import TimeSetSigner
from edge.drivers.ble.watcher import PadlockWatcher, WatcherHealth, WatcherState
from protocols.padlock.messages import PushKind

__all__ = ["LINK_ERROR_CODES", "Backend", "ChainCursor", "FetchProgress", "PadlockLink", "PadlockLinkError",
           "PadlockSession", "PadlockWatcher", "PushKind", "TimeSetSigner", "WatcherHealth", "WatcherState",
           "open_link"]
