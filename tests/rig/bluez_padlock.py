"""A SafeGrid padlock as a BlueZ GATT application, for bleak to reach through BlueZoo (``tests.rig.bluez``).

The peripheral side of the BlueZ D-Bus API, as a real lock's Linux board would use it: a GATT application
(one primary service, the write and the notify characteristic) registered with ``GattManager1`` and an LE
advertisement (the lock's manufacturer data) registered with ``LEAdvertisingManager1``, both on the
peripheral adapter. Behind them is the padlock simulator's :class:`fwsim.lock.core.PadlockCore` with the
protocol's fragmentation: written fragments are reassembled, each whole request is answered by the core, and
the answer and the core's events are notified as fragments at the characteristic's MTU.

Deliberately smaller than :class:`fwsim.lock.peripheral.PadlockPeripheral` (the bumble one): no link faults,
no idle or hold timers, no persistence. It is here to carry the protocol over bleak's D-Bus code path.
"""

from __future__ import annotations

from typing import Annotated, Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
)
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_method, dbus_property

from fwsim.lock.core import PadlockCore
from protocols.errors import FragmentError
from protocols.padlock import messages as m
from protocols.padlock.audit import AuditEntry
from protocols.padlock.fragment import Reassembler, fragment
from protocols.padlock.gatt import COMPANY_ID, NOTIFY_CHARACTERISTIC_UUID, SERVICE_UUID, WRITE_CHARACTERISTIC_UUID
from tests.rig.bluez import PERIPHERAL_ADAPTER

APP_PATH = "/com/safegrid/padlock"
SERVICE_PATH = f"{APP_PATH}/service0"
WRITE_PATH = f"{SERVICE_PATH}/char0"
NOTIFY_PATH = f"{SERVICE_PATH}/char1"
ADVERT_PATH = f"{APP_PATH}/advert0"
LOCAL_NAME = "SafeGrid padlock"
GATT_MTU = 247  # what the characteristics report; BlueZoo hands it to the central as the link's MTU

# dbus-fast reads D-Bus signatures from these annotations; methods returning nothing carry no return annotation
# (under ``from __future__ import annotations`` it would read ``-> None`` as a signature).
DBusStrArray = Annotated[list[str], DBusSignature("as")]
DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]


class _Service(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.bluez.GattService1")

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return str(SERVICE_UUID)

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        return True


class _Characteristic(ServiceInterface):
    def __init__(self, uuid: str, flags: list[str]) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._uuid = uuid
        self._flags = flags

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        return SERVICE_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrArray:
        return self._flags

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> DBusUInt16:
        return GATT_MTU


class _WriteCharacteristic(_Characteristic):
    def __init__(self, padlock: BluezPadlock) -> None:
        super().__init__(str(WRITE_CHARACTERISTIC_UUID), ["write", "write-without-response"])
        self._padlock = padlock

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict):
        self._padlock.written(bytes(value))


class _NotifyCharacteristic(_Characteristic):
    def __init__(self) -> None:
        super().__init__(str(NOTIFY_CHARACTERISTIC_UUID), ["notify"])
        self.value = b""
        self.notifying = False
        self.on_subscribe: Any = None

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    @dbus_method()
    def StartNotify(self):
        self.notifying = True
        self.emit_properties_changed({"Notifying": True})
        if self.on_subscribe is not None:
            self.on_subscribe()

    @dbus_method()
    def StopNotify(self):
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})

    @dbus_method()
    def Confirm(self):
        """BlueZoo confirms each value it passed on (as for an indication); nothing to do."""

    def notify(self, piece: bytes) -> None:
        self.value = piece
        self.emit_properties_changed({"Value": piece})


class _Advertisement(ServiceInterface):
    def __init__(self, manufacturer_data: bytes) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.manufacturer_data = manufacturer_data

    @dbus_method()
    def Release(self):
        """BlueZ calls this when it drops the advertisement."""

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> DBusStr:
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> DBusStr:
        return LOCAL_NAME

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> DBusStrArray:
        return [str(SERVICE_UUID)]

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> DBusManufacturerData:
        return {COMPANY_ID: Variant("ay", self.manufacturer_data)}

    def update(self, manufacturer_data: bytes) -> None:
        if manufacturer_data != self.manufacturer_data:
            self.manufacturer_data = manufacturer_data
            self.emit_properties_changed({"ManufacturerData": {COMPANY_ID: Variant("ay", manufacturer_data)}})


class BluezPadlock:
    """Serve ``core`` as a GATT peripheral on BlueZoo's ``hci1``; :meth:`start` registers, :meth:`stop` unregisters."""

    def __init__(self, core: PadlockCore, host_clock: Any, *, adapter: str = PERIPHERAL_ADAPTER) -> None:
        self.core = core
        self.host_clock = host_clock
        self.adapter_path = f"/org/bluez/{adapter}"
        self.reassembler = Reassembler(mtu=GATT_MTU)
        self.requests_handled = 0
        self._service = _Service()
        self._write = _WriteCharacteristic(self)
        self._notify = _NotifyCharacteristic()
        self._notify.on_subscribe = self.reassembler.reset  # a new central: no half message carries over
        self._advert = _Advertisement(core.advert().manufacturer_data())
        self._bus: MessageBus | None = None

    async def start(self) -> None:
        self.core.power_on(self.host_clock())  # as the simulator boots: logs power_on
        self._advert.manufacturer_data = self.core.advert().manufacturer_data()
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()  # DBUS_SYSTEM_BUS_ADDRESS: the private bus
        self._bus = bus
        for path, interface in ((SERVICE_PATH, self._service), (WRITE_PATH, self._write),
                                (NOTIFY_PATH, self._notify), (ADVERT_PATH, self._advert)):
            bus.export(path, interface)
        try:
            await self._call("org.bluez.GattManager1", "RegisterApplication", "oa{sv}", [APP_PATH, {}])
            await self._call("org.bluez.LEAdvertisingManager1", "RegisterAdvertisement", "oa{sv}",
                             [ADVERT_PATH, {}])
        except BaseException:
            self._bus = None
            bus.disconnect()
            await bus.wait_for_disconnect()
            raise

    async def stop(self) -> None:
        bus, self._bus = self._bus, None
        if bus is None:
            return
        try:
            await self._call("org.bluez.LEAdvertisingManager1", "UnregisterAdvertisement", "o", [ADVERT_PATH], bus)
            await self._call("org.bluez.GattManager1", "UnregisterApplication", "o", [APP_PATH], bus)
        finally:
            bus.disconnect()
            await bus.wait_for_disconnect()

    async def _call(self, interface: str, member: str, signature: str, body: list[Any],
                    bus: MessageBus | None = None) -> None:
        bus = bus or self._bus
        assert bus is not None
        reply = await bus.call(Message(destination="org.bluez", path=self.adapter_path, interface=interface,
                                       member=member, signature=signature, body=body))
        if reply is None or reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{interface}.{member} failed: {reply and reply.error_name} {reply and reply.body}")

    # -- the lock ---------------------------------------------------------------------------------------
    def written(self, piece: bytes) -> None:
        """One fragment written by the central: reassemble; a whole request is answered at once."""
        try:
            message = self.reassembler.feed(piece)
        except FragmentError:
            self._send(m.Result("bad_request", 0).encode())
            return
        if message is None:
            return
        reply = self.core.handle(message, self.host_clock())
        self.requests_handled += 1
        self._send(reply.response.encode())
        self.publish(reply.events)

    def publish(self, events: tuple[AuditEntry, ...] | list[AuditEntry]) -> None:
        """Notify events to a subscribed central and refresh the advert (event counter, state flags)."""
        for entry in events:
            self._send(m.EventNotice(entry.signed).encode())
        self._advert.update(self.core.advert().manufacturer_data())

    def _send(self, data: bytes) -> None:
        if not self._notify.notifying:
            return
        for piece in fragment(data, GATT_MTU):
            self._notify.notify(piece)
