"""The SafeGrid padlock client over BLE: what every central — the site gateway and the worker's phone — runs.

- :mod:`.channel` — :class:`GattChannel`, one open GATT link seen the same way by every radio backend;
- :mod:`.session` — :class:`ClientSession`, the request/response exchange over a channel (fragmenting at the
  MTU, one answer per request, events set aside, every wait bounded);
- :mod:`.bumble_backend` (bumble: the virtual radio or an HCI transport) and :mod:`.bleak_backend` (bleak:
  real adapters through BlueZ) — the two radio backends, each imported only by whoever picks it;
- :mod:`.errors` — :class:`LinkError` and one subclass per code.

Why a package of its own: the wire formats it speaks (``protocols.padlock``: fragments, messages, adverts) are
pure and I/O-free, and stay so; this is the asyncio code that drives them over a radio. The gateway
(``edge.drivers.ble``: audit fetch, pushes, hold policy) and the reference phone (``fwsim.phone``: scanning,
the unlock exchange) both build on it, and neither may import the other: it depends on ``protocols`` only.
A phone team porting the client reads this package and ``fwsim.phone``.
"""

from padlock_client.channel import GattChannel
from padlock_client.errors import (
    CLIENT_ERROR_CODES,
    LinkError,
    LinkLost,
    LockBusy,
    LockNotFound,
    LockRefused,
    LockTimeout,
    UnexpectedAnswer,
)
from padlock_client.session import ClientSession

__all__ = ["CLIENT_ERROR_CODES", "ClientSession", "GattChannel", "LinkError", "LinkLost", "LockBusy",
           "LockNotFound", "LockRefused", "LockTimeout", "UnexpectedAnswer"]
