"""The SafeGrid padlock simulator: a BLE GATT peripheral (bumble) speaking ``protocols.padlock``.

    store = LockStore(path)
    core = store.load_or_create(time.time())             # factory-new: random key and id, provisioning mode
    lock = PadlockPeripheral(device, core, store=store)  # device: a bumble Device (virtual radio or HCI)
    await lock.start()                                   # powers on, advertises
    await lock.close()                                   # the attendant closes the shackle
    await lock.power_cycle()                             # faults: also force_open, set_battery, set_drift, …
    await lock.stop()

:mod:`.core` is the pure state machine (time passed in), :mod:`.clock` the RTC with drift and the
trusted-time floor, :mod:`.audit_log` the signed hash-chained log, :mod:`.store` the state file,
:mod:`.peripheral` the bumble adapter, :mod:`.radio` the virtual radio for separate processes.
"""

from fwsim.lock.audit_log import AuditLog
from fwsim.lock.clock import LockClock
from fwsim.lock.core import PadlockCore, Reply
from fwsim.lock.faults import LinkFaults
from fwsim.lock.peripheral import PadlockPeripheral
from fwsim.lock.store import LockStore

__all__ = ["AuditLog", "LinkFaults", "LockClock", "LockStore", "PadlockCore", "PadlockPeripheral", "Reply"]
